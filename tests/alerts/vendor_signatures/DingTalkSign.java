// DingTalk (钉钉) custom robot, 加签: the "签名计算代码示例(Java)" of the vendor's
// 自定义机器人安全设置 page (open.dingtalk.com), kept as published except two things:
// java.util.Base64 for org.apache.commons.codec.binary.Base64 (no jar here), and the
// timestamp and secret read from the command line instead of the clock and a constant.
// Run: java DingTalkSign.java <timestamp_ms> <secret>  (prints the URL-encoded sign)
import java.net.URLEncoder;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class DingTalkSign {
    public static void main(String[] args) throws Exception {
        Long timestamp = Long.parseLong(args[0]);
        String secret = args[1];
        String stringToSign = timestamp + "\n" + secret;
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes("UTF-8"), "HmacSHA256"));
        byte[] signData = mac.doFinal(stringToSign.getBytes("UTF-8"));
        String sign = URLEncoder.encode(new String(Base64.getEncoder().encode(signData)), "UTF-8");
        System.out.println(sign);
    }
}
