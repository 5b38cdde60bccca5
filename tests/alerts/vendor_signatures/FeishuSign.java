// Feishu (飞书) custom bot, 签名校验: GenSign from the SignDemo (Java) of the vendor's
// 自定义机器人使用指南 (open.feishu.cn), kept as published except two things:
// java.util.Base64 for org.apache.commons.codec.binary.Base64 (no jar here), and the
// timestamp and secret read from the command line.
// Run: java FeishuSign.java <timestamp_s> <secret>  (prints the sign for the body)
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class FeishuSign {
    public static void main(String[] args) throws Exception {
        System.out.println(GenSign(args[1], Integer.parseInt(args[0])));
    }

    private static String GenSign(String secret, int timestamp) throws Exception {
        //把timestamp+"\n"+密钥当做签名字符串
        String stringToSign = timestamp + "\n" + secret;
        //使用HmacSHA256算法计算签名
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(stringToSign.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] signData = mac.doFinal(new byte[]{});
        return new String(Base64.getEncoder().encode(signData));
    }
}
