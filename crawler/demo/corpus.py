"""A deterministic synthetic corpus of resident posts for the demo site and the demo model.

Written here from templates (no real data): every category of
``config/taxonomy.yaml`` at every severity tier, set in the places of
``config/areas.yaml``. Slots, openers, closers and place aliases vary the wording
so a classifier has to learn words, not templates. A few posts carry personal
data (to exercise masking) and a few are near-duplicate reposts.

Its tier mix is a real stream's: mostly IV (questions, suggestions), some III
(matters many people share, complaints nobody answered), a few II, rare I. The
first 160 posts (ids 1..160, every category at every tier, judged by hand in
bench/data/relevance.yaml) are kept as they were; everyday posts on other matters
dilute them. Everything is older than about 30 hours, except a handful published
in the hour before ``now``: on a first ``yuqing run --demo`` the history is
backlog (found long after it was published) and those few are live, and
:func:`live_posts` keeps publishing as time passes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from yuqing.contracts import LabelledText

_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class DemoPost:
    id: int
    title: str
    body: str  # paragraphs separated by "\n"
    author: str
    published_at: datetime  # aware
    category: str
    severity: int  # 1..4, 4 = tier I
    area: str
    likes: int = 0
    replies: int = 0
    reply: str | None = None  # the official reply (回复), if any
    reply_at: datetime | None = None


# (canonical area, how residents write it, the level above)
_URBAN: list[tuple[str, list[str], str]] = [
    ("文昌社区", ["文昌社区", "文昌小区", "文昌路社区"], "城关街道"),
    ("南门社区", ["南门社区", "南门街", "南门"], "城关街道"),
    ("湖滨社区", ["湖滨社区", "湖滨小区", "湖滨花园"], "东湖街道"),
    ("东湖新村社区", ["东湖新村社区", "东湖新村", "东湖新邨"], "东湖街道"),
]
_RURAL: list[tuple[str, list[str], str]] = [
    ("河西村", ["河西村"], "河西镇"),
    ("柳树湾村", ["柳树湾村", "柳树湾", "柳湾村"], "河西镇"),
    ("白塔村", ["白塔村"], "白塔乡"),
    ("石桥村", ["石桥村", "石桥"], "白塔乡"),
]
_TOWNS: list[tuple[str, list[str], str]] = [
    ("城关街道", ["城关街道", "城关街办", "城关"], "云溪县"),
    ("东湖街道", ["东湖街道", "东湖街办", "东湖"], "云溪县"),
    ("河西镇", ["河西镇", "河西"], "云溪县"),
    ("白塔乡", ["白塔乡", "白塔"], "云溪县"),
]
_ROADS = ["人民路", "云溪大道", "解放街", "滨湖路", "河西大道", "文昌路", "南门街", "建设路"]
_SCHOOLS = [
    "云溪县第二小学",
    "城关中学",
    "东湖实验小学",
    "河西镇中心小学",
    "白塔乡中学",
    "阳光幼儿园",
]
_FIRMS = ["鑫达建筑公司", "恒安物业", "绿源化工", "顺通客运", "金湖置业", "宏发建材厂", "华联超市"]
_OFFICES = {
    "城乡建设": ["县住建局", "县城管局", "街道办城建科"],
    "环境保护": ["县生态环境分局", "县城管局"],
    "交通运输": ["县交通运输局", "县公安局交警大队"],
    "教育文体": ["县教育局", "县文旅体局"],
    "劳动和社会保障": ["县人社局", "县劳动保障监察大队", "县医保局"],
    "商贸旅游": ["县市场监管局", "县文旅体局", "县商务局"],
    "卫生计生": ["县卫健局", "县疾控中心"],
}

# Each template: (title, body, place kind). Slots: {p} place as written, {up} the
# level above, {road} {school} {firm} {n} {big} {d} {k}.
_T = tuple[str, str, str]
TEMPLATES: dict[str, dict[int, list[_T]]] = {
    "城乡建设": {
        1: [
            (
                "{p}物业费收费标准咨询",
                "请问{up}{p}的物业费按什么标准收？今年通知每平米涨了{k}毛钱，想了解一下有没有备案。",
                "u",
            ),
            (
                "建议{road}增设路灯",
                "{road}靠近{p}这一段晚上黑漆漆的，路灯间隔太远，建议增加几盏，方便居民夜里出行。",
                "u",
            ),
            (
                "老旧小区改造什么时候轮到{p}",
                "听说今年有老旧小区改造的名额，想问问{p}在不在计划里，楼道和下水管都很旧了。",
                "u",
            ),
            (
                "房产证办理进度咨询",
                "我在{p}买的安置房交房{d}年了，房产证一直没办下来，请问现在办到哪一步了？",
                "any",
            ),
        ],
        2: [
            (
                "{p}停水三天没人管",
                "{up}{p}从周一开始停水，到今天已经三天了，全小区上百户吃水都成问题，打物业电话没人接，希望尽快恢复供水。",
                "u",
            ),
            (
                "{p}违建多次反映无人处理",
                "{p}{k}楼楼顶有人私自搭建阳光房，还往外扩了好几米，我们多次反映给城管和物业，一直没人管。",
                "u",
            ),
            (
                "物业不作为，电梯坏了{d}个星期",
                "{p}{k}栋电梯坏了快{d}周，物业说在等配件，老人上下楼很困难，反复投诉也没有回复。",
                "u",
            ),
            (
                "{road}下水道堵塞污水漫街",
                "{road}这边下水道堵了，一下雨污水就漫到路面上，{p}的住户反映过好多次，至今无人处理。",
                "any",
            ),
        ],
        3: [
            (
                "{p}燃气泄漏险些出事",
                "昨晚{p}{k}号楼闻到很重的燃气味，一位老人被熏得头晕送医，燃气公司来了关了阀门就走了，管道隐患没有排除，居民都不敢回家。",
                "u",
            ),
            (
                "{p}危房住着孤寡老人",
                "{up}{p}有一栋土坯房已经开裂，住着一位孤寡老人，房子随时可能塌，恳请镇里尽快安置。",
                "r",
            ),
            (
                "拆迁安置款迟迟不到位，几十户聚集",
                "{p}征收拆迁的安置款拖了{d}个月没发，今天上午几十户村民聚集在{up}政府门口，情绪很激动。",
                "any",
            ),
        ],
        4: [
            (
                "{p}自建房坍塌，已有人员死亡",
                "今天下午{p}一栋在建自建房突然坍塌，现场有工人被埋，听说已经有{k}人死亡，还有多人受伤送医，现场一片混乱。",
                "any",
            ),
            (
                "{road}一居民楼燃气爆炸",
                "{road}靠近{p}的一栋居民楼发生燃气爆炸，整面墙倒塌，多人受伤，据说有人遇难，周围窗户全碎了。",
                "u",
            ),
        ],
    },
    "环境保护": {
        1: [
            (
                "建议{p}增加垃圾分类桶",
                "{p}的垃圾分类桶只有两个，经常满出来，建议多放几组，再安排人定时清运。",
                "any",
            ),
            (
                "请问广场舞噪音找谁管",
                "{p}晚上广场舞音响开得很大，请问这种噪声扰民应该找哪个部门？希望能协调一下音量。",
                "u",
            ),
            (
                "咨询秸秆焚烧的规定",
                "我们{p}每年秋收后都有人烧秸秆，想咨询一下现在有没有禁止焚烧的规定，能否统一收购？",
                "r",
            ),
        ],
        2: [
            (
                "{p}附近工厂夜间排放废气",
                "{p}旁边的{firm}每天夜里排废气，臭味很重，全小区窗户都不敢开，多次反映给环保部门一直没人管。",
                "any",
            ),
            (
                "{road}工地扬尘严重",
                "{road}那个工地天天扬尘，一点降尘措施都没有，{p}的居民家里阳台全是灰，反复投诉无人处理。",
                "u",
            ),
            (
                "{p}河道成了黑臭水体",
                "{up}{p}村口的小河被生活污水和养殖场废水污染，河水发黑发臭，夏天根本没法靠近。",
                "r",
            ),
            (
                "餐馆油烟直排扰民",
                "{p}底商的几家餐馆油烟直接往居民楼排，楼上上百户深受其害，去年就投诉过，没有回复。",
                "u",
            ),
        ],
        3: [
            (
                "{firm}偷排废水，村民饮水出问题",
                "{p}的{firm}往河里偷排废水，下游村民喝了井水后有几个老人和儿童腹泻送医，村民几十人聚集在厂门口讨说法。",
                "r",
            ),
            (
                "垃圾堆放点起火，浓烟滚滚",
                "{p}附近的垃圾堆放点下午起火，浓烟飘进小区，有居民吸入烟雾受伤，消防来了还在冒烟。",
                "any",
            ),
        ],
        4: [
            (
                "{firm}废气泄漏，上百人中毒",
                "今天凌晨{up}{firm}发生废气泄漏，{p}上百人出现头晕呕吐，大面积中毒，已有多人受伤送医，情况危急！",
                "any",
            ),
            (
                "{p}尾矿库溃坝，下游被淹",
                "{p}上游的尾矿库发生溃坝，泥浆冲进村子，有房屋倒塌，听说有人遇难，请政府马上组织救援！",
                "r",
            ),
        ],
    },
    "交通运输": {
        1: [
            (
                "建议{p}公交站台加装雨棚",
                "{p}门口的公交站台没有雨棚，下雨天等车的老人全身湿透，希望能加个雨棚。",
                "any",
            ),
            (
                "咨询{road}修路工期",
                "请问{road}修路要修到什么时候？路面一直封着，绕路很不方便，能否公布一下工期？",
                "any",
            ),
            (
                "建议增开去{p}的公交车",
                "{up}{p}到县城只有一班公交，每天两趟，建议增开班次，方便村民出行。",
                "r",
            ),
        ],
        2: [
            (
                "{road}路面坑洼多次反映没人修",
                "{road}从{p}到菜市场这段路面坑洼不平，电动车经常摔倒，我们多次反映了一直没人管。",
                "any",
            ),
            (
                "{p}停车难，车辆乱停堵死消防通道",
                "{p}车位太少，车辆乱停乱放，把消防通道都堵了，全小区上百户出行困难，物业也不管。",
                "u",
            ),
            (
                "红绿灯坏了{d}天没人修",
                "{road}和建设路路口的红绿灯坏了{d}天，早晚高峰拥堵严重，存在很大安全隐患。",
                "any",
            ),
        ],
        3: [
            (
                "{road}渣土车超载撞伤学生",
                "今天早上{road}一辆超载渣土车把放学的两个儿童撞伤了，已经送医，这条路渣土车天天超速，家长们聚集在路口要求整治。",
                "any",
            ),
            (
                "{firm}客车超载，乘客受伤",
                "{firm}跑{p}线路的客车严重超载，今天急刹车有乘客摔倒受伤送医，这种情况不是第一次了。",
                "r",
            ),
        ],
        4: [
            (
                "{road}发生重大车祸，多人死亡",
                "{road}靠近{p}路段一辆客车与货车相撞，现场惨烈，已造成{k}人死亡，多人受伤，交通完全中断。",
                "any",
            ),
            (
                "{p}桥梁坍塌，车辆坠河",
                "{up}{p}村口的老桥今天上午突然坍塌，一辆面包车坠入河中，车上人员遇难，这座桥大家反映过是危桥。",
                "r",
            ),
        ],
    },
    "教育文体": {
        1: [
            (
                "{school}招生入学咨询",
                "请问今年{school}的招生范围有没有变化？我们住在{p}，孩子明年入学，需要准备哪些材料？",
                "any",
            ),
            (
                "建议{p}建一个社区图书馆",
                "{p}的孩子放学后没地方看书，建议利用闲置的活动室建一个小图书馆，周末也能开放。",
                "u",
            ),
            (
                "咨询校车接送时间",
                "{school}的校车早上到{p}的时间能否提前十分钟？现在经常迟到。",
                "r",
            ),
        ],
        2: [
            (
                "{school}违规补课收费",
                "{school}的老师放学后组织学生到校外培训机构补课，每人每月收{big}元，家长不敢不去，多次反映给教育局没有回复。",
                "any",
            ),
            (
                "{p}幼儿园学位不够",
                "{p}今年上百个适龄儿童，附近幼儿园只招{k}十个，很多家庭排不上，希望教育部门重视。",
                "u",
            ),
            (
                "{school}食堂饭菜质量差",
                "{school}食堂的饭菜经常是凉的，学生反映分量少，家长反复投诉无人处理。",
                "any",
            ),
        ],
        3: [
            (
                "{school}学生食物中毒送医",
                "今天中午{school}有十几名学生吃完食堂午饭后腹痛呕吐，已送医治疗，家长们聚集在学校门口要说法。",
                "any",
            ),
            (
                "{school}教学楼是危房",
                "{school}的老教学楼墙体开裂，下雨还漏水，孩子们还在里面上课，安全隐患太大了，涉及几百名儿童。",
                "any",
            ),
        ],
        4: [
            (
                "{school}食堂集体中毒",
                "{school}食堂早餐后，上百名学生出现呕吐发烧，集体中毒，多名学生重症送医，县医院急诊已经满了。",
                "any",
            ),
            (
                "{school}体育馆顶棚倒塌",
                "{school}体育馆顶棚在上体育课时突然倒塌，多人受伤，听说有学生身亡，家长都赶到现场了。",
                "any",
            ),
        ],
    },
    "劳动和社会保障": {
        1: [
            (
                "咨询养老保险补缴",
                "请问在外地交了{d}年社保，回{p}以后养老保险怎么转移接续？能否补缴前几年断的？",
                "any",
            ),
            (
                "请问低保怎么申请",
                "{p}有一户家里老人生病，收入很低，请问低保申请需要哪些材料，找社区还是街道？",
                "any",
            ),
            (
                "医保报销比例咨询",
                "想咨询一下在县医院住院，城乡居民医保报销比例是多少？门诊慢特病能否报销？",
                "any",
            ),
        ],
        2: [
            (
                "{firm}拖欠工资{d}个月",
                "我在{firm}上班，公司已经拖欠工资{d}个月了，找老板就说没钱，劳动合同也不给，多次反映没有回复。",
                "any",
            ),
            (
                "{p}退休人员养老金迟发",
                "{p}的退休职工这个月养老金到现在还没发，打电话问社保局一直没人管，老人们很着急。",
                "any",
            ),
            (
                "公司不交社保还强制加班",
                "{firm}不给员工交社保，每天强制加班到晚上十点，不加班就辞退，请劳动监察管一管。",
                "any",
            ),
        ],
        3: [
            (
                "几十名农民工讨薪无果",
                "{firm}在{p}的工地拖欠几十名农民工工资{big}多元，今天工人们聚集在项目部讨薪，老板躲着不见。",
                "any",
            ),
            (
                "工伤工人被辞退无人赔偿",
                "在{firm}干活的老乡从脚手架摔下受伤，公司不认工伤还把人辞退了，家里还有老人孩子要养。",
                "any",
            ),
        ],
        4: [
            (
                "上百名农民工讨薪堵路",
                "今天上百名农民工在{road}堵路讨薪，{firm}欠了他们一年的工资，现场聚集的人越来越多，已经形成群体性事件。",
                "any",
            ),
            (
                "讨薪农民工爬上塔吊要跳楼",
                "{p}工地一名农民工因为被拖欠工资爬上塔吊扬言跳楼，下面聚集了几十名工友，情况十分危险。",
                "any",
            ),
        ],
    },
    "商贸旅游": {
        1: [
            (
                "咨询健身房预付卡退款",
                "{p}的一家健身房说要搬走，我办的预付卡还有{big}元没用完，请问能否退款？找哪个部门？",
                "u",
            ),
            (
                "建议景区门票对本地老人优惠",
                "希望县里的景区能对本地六十五岁以上老人免门票，周末带老人去玩费用不低。",
                "any",
            ),
            ("请问{p}菜市场营业时间", "{p}新菜市场什么时候开业？营业时间是几点到几点？", "any"),
        ],
        2: [
            (
                "{firm}虚假宣传涨价",
                "{p}的{firm}搞促销虚假宣传，先涨价再打折，消费者去投诉商家态度很差，多次反映给市场监管没有回复。",
                "any",
            ),
            (
                "快递网点乱收费",
                "{p}的快递网点取件要额外收一块钱，全小区上百户都被收过，反复投诉无人处理。",
                "u",
            ),
            (
                "景区强制消费",
                "周末去云溪湖景区，导游带去购物点强制消费，不买就甩脸色，旅游体验很差，希望整顿。",
                "any",
            ),
        ],
        3: [
            (
                "{p}集贸市场起火",
                "{p}集贸市场今天下午起火，好几个摊位烧光了，有商户受伤送医，市场里电线乱拉，早就是隐患。",
                "any",
            ),
            (
                "传销窝点聚集大量外地人",
                "{p}一栋出租屋里聚集了几十名外地年轻人搞传销，每天上课洗脑，有人想走被打受伤。",
                "any",
            ),
        ],
        4: [
            (
                "景区踩踏，多人死亡",
                "国庆期间云溪湖景区游客爆满，观景台发生踩踏，已造成{k}人死亡多人受伤，景区还在继续卖门票。",
                "any",
            ),
            (
                "{firm}商场火灾，有人遇难",
                "{road}的{firm}商场发生火灾，浓烟很大，有人被困，听说已经有人遇难，消防车还在赶来。",
                "u",
            ),
        ],
    },
    "卫生计生": {
        1: [
            ("咨询疫苗接种时间", "请问{p}卫生院的儿童疫苗接种是周几？需要提前预约吗？", "any"),
            (
                "建议卫生院延长门诊时间",
                "{up}卫生院下午五点就关门了，上班族看病很不方便，建议晚上开个急诊。",
                "r",
            ),
            (
                "请问生育津贴怎么领取",
                "我在{p}住，刚生完孩子，想咨询一下生育津贴和计生服务需要带什么材料。",
                "any",
            ),
        ],
        2: [
            (
                "{p}卫生院医生态度差",
                "{p}卫生院的医生看病不耐烦，开药贵，多次反映给卫健局一直没人管。",
                "any",
            ),
            (
                "药店卖过期药品",
                "{p}路口的药店卖过期药品，我买的感冒药过期半年，投诉后药店不承认，没有回复。",
                "any",
            ),
            (
                "县医院看病排队太久",
                "县医院挂号要排两三个小时，全是人，老人孩子发热等不起，反复投诉无人处理。",
                "any",
            ),
        ],
        3: [
            (
                "{p}诊所输液出事，孩子送医",
                "{p}一家黑诊所给孩子输液后出现过敏，孩子抽搐被紧急送医，家属聚集在诊所门口。",
                "any",
            ),
            (
                "{p}出现多例发热病人",
                "{p}这几天陆续有十几个人发热，有老人住院，怀疑是传染病，卫生院说不清楚，大家很担心。",
                "any",
            ),
        ],
        4: [
            (
                "{p}喜宴集体食物中毒",
                "{p}昨天办喜宴，吃完后上百人上吐下泻，集体中毒，一位老人送医后死亡，卫生院已经住不下了。",
                "r",
            ),
            (
                "医院手术致死，家属聚集",
                "县医院一名产妇手术中死亡，家属和亲友上百人聚集在医院门口，拉横幅要说法，现场可能发生群体性事件。",
                "any",
            ),
        ],
    },
}

_COUNT = {1: 7, 2: 7, 3: 5, 4: 3}  # posts per category and tier: the everyday is common

# Everyday posts on matters none of the judged relevance queries is about (their
# words are avoided: bench/data/relevance.yaml judged only ids 1..160). Slots as in
# TEMPLATES except {firm} and {school} where a name would carry a judged word.
EVERYDAY: dict[str, dict[int, list[_T]]] = {
    "城乡建设": {
        1: [
            (
                "{p}楼道声控灯不亮",
                "{p}{k}栋楼道的声控灯一直不亮，晚上上楼要摸黑，希望安排人换个灯泡。",
                "u",
            ),
            (
                "咨询{p}房屋维修基金怎么动用",
                "请问{up}{p}的房屋维修基金怎么动用？楼顶有点渗水，想了解一下流程。",
                "u",
            ),
            (
                "建议{p}增设公共晾衣架",
                "{p}的住户没有地方晒被子，建议在空地上装几组公共晾衣架。",
                "any",
            ),
            (
                "{road}人行道地砖松动",
                "{road}靠近{p}的人行道有几块地砖松动，踩上去会溅水，希望找人修补一下。",
                "any",
            ),
            (
                "咨询{p}水费怎么计算",
                "请问{up}现在居民用水是按阶梯水价算的吗？{p}这个月水费比上个月多了不少，想问问怎么计算。",
                "any",
            ),
        ],
        2: [
            (
                "{p}楼顶水箱长期没人清洗",
                "{p}{k}栋楼顶水箱好几年没清洗过，水里有锈渣，居民多次反映一直没人管。",
                "u",
            ),
            (
                "{road}施工围挡占道{d}个月",
                "{road}的施工围挡把半条路占了{d}个月，进度很慢，附近上百户出行不便，反复投诉无人处理。",
                "any",
            ),
            (
                "{p}断电{d}天没有说法",
                "{up}{p}因为线路改造断电{d}天了，冰箱里的菜都放不住，打电话问了好几次，没有回复什么时候来电。",
                "any",
            ),
            (
                "{p}楼道杂物堆积成隐患",
                "{p}{k}栋楼道里堆满了纸箱和旧家具，挡住了半边楼梯，存在隐患，多次反映一直没人管。",
                "u",
            ),
        ],
    },
    "环境保护": {
        1: [
            (
                "建议{p}多种些树",
                "{p}新修的小广场光秃秃的，夏天太晒，建议多种几棵树，再放几张长椅。",
                "any",
            ),
            (
                "{p}流浪猫越来越多",
                "{p}最近流浪猫越来越多，晚上叫得厉害，请问有没有部门能统一收容？",
                "any",
            ),
            ("咨询养犬登记", "请问在{up}养狗需要去哪里登记？要办什么手续，能否线上办理？", "any"),
            (
                "希望{p}绿化带别再种菜",
                "{p}有人把绿化带的草拔了种菜，还浇粪水，味道不好，希望有人管一管。",
                "u",
            ),
        ],
        2: [
            (
                "{p}旁边养猪场臭气熏天",
                "{up}{p}旁边新开了一家养猪场，臭气熏天，周边上百户居民关窗都挡不住，多次反映一直没人管。",
                "r",
            ),
            (
                "{road}沿街商铺音响太吵",
                "{road}沿街几家商铺整天用大音响放音乐招揽顾客，{p}的居民在家说话都听不清，反复投诉无人处理。",
                "any",
            ),
            (
                "{p}污水井外溢",
                "{p}门口的污水井这个月外溢了好几次，路过都要捂鼻子，全小区都受影响，多次反映一直没人管。",
                "u",
            ),
        ],
    },
    "交通运输": {
        1: [
            (
                "咨询驾驶证到期换证",
                "我的驾驶证下个月到期，请问在{up}哪里可以换证？需要体检吗？",
                "any",
            ),
            (
                "建议{road}增设人行横道",
                "{road}靠近{p}这一段没有人行横道，老人过马路很不方便，建议画一条斑马线。",
                "any",
            ),
            (
                "共享单车乱放挡住人行道",
                "{p}门口的共享单车摆得到处都是，人行道都走不通，希望运营公司定期整理。",
                "u",
            ),
            ("咨询电动自行车上牌", "请问电动自行车上牌要带哪些材料？{up}有没有集中办理点？", "any"),
        ],
        2: [
            (
                "{road}一下雨就积水",
                "一下雨{road}靠近{p}的路段就积水，车辆熄火，行人只能绕行，多次反映一直没人管。",
                "any",
            ),
            (
                "{road}夜间大货车鸣笛",
                "每天夜里都有大货车从{road}经过{p}，一路鸣笛，上百户居民睡不好觉，多次反映没有回复。",
                "any",
            ),
            (
                "{p}路口广告牌挡住视线",
                "{p}路口的大广告牌挡住了转弯视线，车辆经常差点撞上，存在隐患，反复投诉无人处理。",
                "any",
            ),
        ],
    },
    "教育文体": {
        1: [
            (
                "建议{p}建一个篮球场",
                "{p}附近没有像样的运动场地，年轻人想打球都没地方，建议利用空地建个篮球场。",
                "any",
            ),
            (
                "咨询体育馆游泳池开放时间",
                "请问县体育馆游泳池暑假几点开放？{p}这边有没有优惠的年卡？",
                "any",
            ),
            (
                "希望多组织送戏下乡",
                "{up}能否在周末多组织一些送戏下乡、露天电影这样的活动，{p}的老人都很喜欢。",
                "r",
            ),
            (
                "咨询老年大学报名",
                "请问县老年大学今年秋季的书法班什么时候报名？住在{p}可以报吗？",
                "any",
            ),
        ],
        2: [
            (
                "{school}门口摊贩占道",
                "{school}门口每天放学都挤满了流动摊贩，孩子们只能走到马路上，家长多次反映，一直没人管。",
                "any",
            ),
            (
                "{p}文化活动室常年锁门",
                "{p}的文化活动室建好两年一直锁着门，居民想用都借不到钥匙，多次反映一直没人管。",
                "any",
            ),
            (
                "{school}旁边网吧接纳未成年人",
                "{school}旁边的网吧晚上经常有未成年人上网到半夜，家长反复投诉无人处理。",
                "any",
            ),
        ],
    },
    "劳动和社会保障": {
        1: [
            (
                "咨询职业技能培训补贴",
                "请问{up}今年有没有免费的电工、厨师技能培训？参加培训有没有补贴？",
                "any",
            ),
            (
                "咨询灵活就业登记",
                "我在{p}送外卖，想问问灵活就业人员怎么登记，需要带什么材料？",
                "any",
            ),
            (
                "咨询高龄补贴怎么办理",
                "家里老人今年满八十岁了，请问高龄补贴怎么办理，是找{p}还是{up}？",
                "any",
            ),
            (
                "请问退役军人优待证怎么办",
                "我是{p}的退役军人，想咨询一下优待证在哪里办理，多久能拿到？",
                "any",
            ),
        ],
        2: [
            (
                "{p}公益岗补贴{d}个月没发",
                "{p}的公益性岗位人员补贴已经{d}个月没发了，大家多次反映没有回复，生活很困难。",
                "any",
            ),
            (
                "{p}培训补贴半年没到账",
                "{p}好几户参加了就业技能培训，说好的补贴半年了一直没到账，多次反映没有回复。",
                "any",
            ),
            (
                "家政公司扣押身份证不让走",
                "{p}一家家政公司招人时扣押大家的身份证，想走都走不了，多次反映一直没人管。",
                "any",
            ),
        ],
    },
    "商贸旅游": {
        1: [
            (
                "咨询个体户营业执照办理",
                "我想在{p}开一家小吃店，请问个体户营业执照怎么办理，能否网上办？",
                "any",
            ),
            (
                "建议{p}增设便民早餐点",
                "{p}附近上班的人多，早上买早餐很不方便，建议设几个便民早餐车。",
                "any",
            ),
            (
                "请问开农家乐需要什么手续",
                "{up}{p}想办个农家乐，请问需要办哪些证照？有没有扶持政策？",
                "r",
            ),
            (
                "咨询消费券使用范围",
                "请问县里发的消费券在{p}的哪些商店能用？有效期到什么时候？",
                "any",
            ),
        ],
        2: [
            (
                "装修公司收了定金不开工",
                "{p}好几户业主交了装修定金，装修公司一拖再拖不开工，反复投诉无人处理。",
                "u",
            ),
            (
                "{p}便利店改生产日期",
                "{p}几家便利店把临期面包重新贴了生产日期继续卖，全小区的人都买过，反复投诉无人处理。",
                "u",
            ),
            (
                "共享充电宝押金退不回来",
                "在{p}借的共享充电宝押金退不回来，客服电话一直占线，上百人遇到同样的事，多次反映没有回复。",
                "any",
            ),
        ],
    },
    "卫生计生": {
        1: [
            ("咨询老年人免费体检", "请问{up}六十五岁以上老人免费体检是哪天？需要空腹吗？", "any"),
            (
                "建议卫生院开设中医理疗",
                "{up}卫生院能否开设针灸推拿这些中医理疗项目？{p}的老人腰腿疼的多。",
                "r",
            ),
            ("咨询两癌筛查", "请问今年妇女两癌筛查在哪里做？{p}的名额怎么分配？", "any"),
            (
                "请问附近哪里能献血",
                "我在{p}住，想去献血，请问附近有没有固定献血点，周末开不开？",
                "any",
            ),
        ],
        2: [
            (
                "{p}卫生室长期关门",
                "{up}{p}的村卫生室长期关门，老人拿点常用药要跑十几里路，多次反映一直没人管。",
                "r",
            ),
            (
                "{p}卫生院夜里没人值班",
                "{up}{p}卫生院晚上没有人值班，孩子半夜不舒服只能往县城跑，多次反映一直没人管。",
                "r",
            ),
            (
                "{p}卫生室药价偏高",
                "{up}{p}卫生室的常用药比县城药店贵不少，老人们多次反映一直没人管。",
                "r",
            ),
        ],
    },
}
_EVERYDAY_COUNT = {1: 44, 2: 14}  # per category: with the 160 above, about 3/5 tier IV

# A tier II matter for the live hour: a single severe post the duty desk must triage.
_SEVERE_NOW: list[tuple[str, str, str, str]] = [
    ("城乡建设", "{p}高层外墙瓷砖脱落砸伤路人",
     "{p}{k}栋高层外墙的瓷砖今天下午脱落，砸伤了一名路过的居民，已经送医，楼下还常有孩子玩，大家很害怕。", "u"),
    ("交通运输", "{road}护栏倒伏，两人摔伤",
     "{road}靠近{p}的一段护栏倒在非机动车道上，刚才两辆电动车接连摔伤，一人被送医，护栏还没人来扶。", "any"),
]  # fmt: skip

# The hour before ``now``: (minutes before now, tier, which) -- tier from EVERYDAY
# ("which" picks the category) or 3 = the first _SEVERE_NOW matter.
_RECENT = [(55, 1, 0), (48, 2, 3), (40, 1, 5), (31, 1, 1), (22, 3, 0), (14, 1, 4), (6, 2, 6)]

_OPENERS = [
    "",
    "",
    "各位领导好，",
    "您好！",
    "我是{p}的居民，",
    "反映一个问题：",
    "麻烦相关部门看一下，",
    "大家好，",
]
_CLOSERS = [
    "",
    "",
    "希望尽快处理。",
    "谢谢！",
    "盼回复。",
    "恳请领导重视！",
    "请有关部门管一管。",
    "拜托了。",
]
_EXTRA = [
    "",
    "",
    "",
    "这个问题已经持续很久了。",
    "附近邻居都有同感。",
    "有图有真相，大家可以去现场看看。",
    "不知道该找谁，只能在这里发帖。",
]
_AUTHORS = [
    "湖滨老住户", "河西小王", "热心市民李先生", "文昌路张阿姨", "匿名网友", "云溪打工人", "石桥村民",
    "宝妈小丽", "南门老陈", "东湖新村业主", "柳树湾种田人", "白塔老师", "路过的网友", "退休老刘",
    "云溪吃瓜群众", "城关小赵", "骑电动车的小伙", "一位家长", "老党员王大爷", "外卖小哥阿强",
]  # fmt: skip
_CONTACTS = [
    "我的联系电话13812345678，欢迎核实。",
    "联系人：王女士，手机139 1234 5678。",
    "本人身份证号110101199003071234，所述属实。",
    "有需要可以发邮件到zhangsan.yx@example.com。",
    "家里座机0571-88123456，白天有人。",
    "工资卡号6222021234567890123，至今没有到账。",
]
_REPLIES = [
    "您好，您反映的问题已转{office}办理，工作人员已到现场核实，将尽快处理并反馈。",
    "感谢您的反映。经{office}核查，情况基本属实，已责令相关单位限期整改。",
    "网友您好，{office}已收到您的诉求，正在协调相关部门处理，请保持电话畅通。",
    "您好，经{office}调查，相关问题已经解决，如仍有疑问请拨打12345热线。",
]


def _place(rng: random.Random, kind: str) -> tuple[str, str, str]:
    pool = {"u": _URBAN, "r": _RURAL, "any": _URBAN + _RURAL + _TOWNS}[kind]
    area, names, up = rng.choice(pool)
    return area, rng.choice(names), up


def demo_corpus(now: datetime, seed: int = 7) -> list[DemoPost]:
    """About 570 posts published in the ~10 days before ``now``, oldest first.

    Ids 1..160 keep their texts whatever else changes (relevance judgments name
    them); everyday posts follow, then the handful of the last hour. The same
    ``now`` and ``seed`` give the same corpus.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = random.Random(seed)
    drafts: list[DemoPost] = []
    for category, tiers in TEMPLATES.items():
        for severity, templates in tiers.items():
            for i in range(_COUNT[severity]):
                title_t, body_t, kind = templates[i % len(templates)]
                area, written, up = _place(rng, kind)
                slots = {
                    "p": written,
                    "up": up if up != "云溪县" else "云溪",
                    "road": rng.choice(_ROADS),
                    "school": rng.choice(_SCHOOLS),
                    "firm": rng.choice(_FIRMS),
                    "n": rng.randint(3, 60),
                    "k": rng.randint(2, 9),
                    "d": rng.randint(2, 6),
                    "big": rng.choice(["800", "1500", "3000", "20万", "56万"]),
                }
                paras = [
                    rng.choice(_OPENERS).format(**slots) + body_t.format(**slots),
                ]
                extra = rng.choice(_EXTRA)
                closer = rng.choice(_CLOSERS)
                if extra or closer:
                    paras.append((extra + closer).strip())
                if rng.random() < 0.12:
                    paras.append(rng.choice(_CONTACTS))
                published = now - timedelta(minutes=rng.randint(5, 10 * 24 * 60))
                published = published.astimezone(_TZ).replace(second=0, microsecond=0)
                reply = reply_at = None
                if rng.random() < 0.35 + 0.1 * severity:
                    reply_at = published + timedelta(minutes=rng.randint(20, 36 * 60))
                    if reply_at < now:
                        office = rng.choice(_OFFICES[category])
                        reply = rng.choice(_REPLIES).format(office=office)
                    else:
                        reply_at = None
                hot = {1: 5, 2: 30, 3: 120, 4: 600}[severity]
                drafts.append(
                    DemoPost(
                        id=0,
                        title=title_t.format(**slots),
                        body="\n".join(p for p in paras if p),
                        author=rng.choice(_AUTHORS),
                        published_at=published,
                        category=category,
                        severity=severity,
                        area=area,
                        likes=rng.randint(0, hot),
                        replies=rng.randint(0, hot // 3),
                        reply=reply,
                        reply_at=reply_at,
                    )
                )
    # near-duplicate reposts: the same matter, lightly reworded, a bit later
    for src in rng.sample([d for d in drafts if d.severity >= 3], 6):
        later = min(src.published_at + timedelta(minutes=rng.randint(10, 300)), now)
        body = src.body.replace("，", ",", 1) + "\n大家帮忙转发，让更多人看到！"
        drafts.append(
            replace(
                src,
                title=rng.choice(["转：", "【转发】", "扩散！"]) + src.title,
                body=body,
                author=rng.choice(_AUTHORS),
                published_at=later.astimezone(_TZ),
                likes=src.likes // 3,
                replies=src.replies // 3,
                reply=None,
                reply_at=None,
            )
        )
    drafts.sort(key=lambda d: (d.published_at, d.title))
    # Ids and texts as drawn above; the times then move into the backlog window
    # (order kept), so only the last hour's posts are new when a first run finds them.
    posts = [_to_backlog(replace(d, id=i), now) for i, d in enumerate(drafts, start=1)]
    posts += _everyday(now, seed, first_id=len(posts) + 1)
    posts += _recent(now, seed, first_id=len(posts) + 1)
    return sorted(posts, key=lambda p: (p.published_at, p.id))


_WINDOW = timedelta(days=10)
BACKLOG_AFTER = timedelta(hours=30)  # every post but the last hour's is older than this


def _to_backlog(post: DemoPost, now: datetime) -> DemoPost:
    """Map an age in (0, 10 d] onto (30 h, 10 d], keeping the order of posts."""
    scale = (_WINDOW - BACKLOG_AFTER) / _WINDOW

    def move(t: datetime) -> datetime:
        return (
            (now - (BACKLOG_AFTER + (now - t) * scale))
            .astimezone(_TZ)
            .replace(second=0, microsecond=0)
        )

    published = move(post.published_at)
    reply_at = None if post.reply_at is None else published + (post.reply_at - post.published_at)
    return replace(post, published_at=published, reply_at=reply_at)


def _write(
    rng: random.Random,
    category: str,
    severity: int,
    template: tuple[str, str, str],
    published: datetime,
    seen: set[str],
) -> DemoPost:
    """One post from ``template`` with fresh slots, wording and people; a text already
    in ``seen`` is drawn again (labelled examples stay distinct)."""
    title_t, body_t, kind = template
    for _ in range(50):
        area, written, up = _place(rng, kind)
        slots = {
            "p": written,
            "up": up if up != "云溪县" else "云溪",
            "road": rng.choice(_ROADS),
            "school": rng.choice([x for x in _SCHOOLS if "幼儿园" not in x]),  # a judged word
            "k": rng.randint(2, 9),
            "d": rng.randint(2, 6),
        }
        paras = [rng.choice(_OPENERS).format(**slots) + body_t.format(**slots)]
        tail = (rng.choice(_EXTRA) + rng.choice(_CLOSERS)).strip()
        if tail:
            paras.append(tail)
        title = title_t.format(**slots)
        body = "\n".join(paras)
        if f"{title}\n{body}" not in seen:
            break
    seen.add(f"{title}\n{body}")
    hot = {1: 5, 2: 30, 3: 120, 4: 600}[severity]
    return DemoPost(
        id=0,
        title=title,
        body=body,
        author=rng.choice(_AUTHORS),
        published_at=published.astimezone(_TZ).replace(second=0, microsecond=0),
        category=category,
        severity=severity,
        area=area,
        likes=rng.randint(0, hot),
        replies=rng.randint(0, hot // 3),
    )


def _everyday(now: datetime, seed: int, first_id: int) -> list[DemoPost]:
    rng = random.Random(seed * 7919 + 1)  # its own draws: ids 1..160 stay as they were
    seen: set[str] = set()
    out: list[DemoPost] = []
    for category, tiers in EVERYDAY.items():
        for severity, templates in tiers.items():
            for i in range(_EVERYDAY_COUNT[severity]):
                age = timedelta(minutes=rng.randint(0, int((_WINDOW - BACKLOG_AFTER) / _MINUTE)))
                post = _write(rng, category, severity, templates[i % len(templates)],
                              now - BACKLOG_AFTER - age, seen)  # fmt: skip
                if rng.random() < 0.45:
                    reply_at = post.published_at + timedelta(minutes=rng.randint(60, 48 * 60))
                    office = rng.choice(_OFFICES[category])
                    post = replace(post, reply=rng.choice(_REPLIES).format(office=office),
                                   reply_at=min(reply_at, now - timedelta(hours=1)).replace(second=0, microsecond=0))  # fmt: skip
                out.append(post)
    out.sort(key=lambda p: (p.published_at, p.title))
    return [replace(p, id=i) for i, p in enumerate(out, start=first_id)]


_MINUTE = timedelta(minutes=1)


def _recent(now: datetime, seed: int, first_id: int) -> list[DemoPost]:
    """The last hour: mostly everyday posts, two of tier III and one of tier II."""
    rng = random.Random(seed * 7919 + 2)
    seen: set[str] = set()
    categories = list(EVERYDAY)
    out = []
    for n, (minutes, tier, which) in enumerate(_RECENT):
        at = now - timedelta(minutes=minutes)
        if tier == 3:
            category, title, body, kind = _SEVERE_NOW[which]
            post = _write(rng, category, 3, (title, body, kind), at, seen)
        else:
            category = categories[which % len(categories)]
            templates = EVERYDAY[category][tier]
            post = _write(rng, category, tier, templates[n % len(templates)], at, seen)
        out.append(replace(post, id=first_id + n))
    return out


def live_posts(start: datetime, until: datetime, seed: int = 7) -> list[DemoPost]:
    """Posts the demo site publishes after ``start`` (ids from 100,000): one every 10 to
    20 minutes, from the first 12 minutes on; mostly tier IV, some III, one tier II
    matter in the first hour and a few a day after. Tier I never comes by itself."""
    rng = random.Random(seed * 7919 + 3)
    seen: set[str] = set()
    categories = list(EVERYDAY)
    out: list[DemoPost] = []
    at = start + timedelta(minutes=12)
    while at <= until:
        n = len(out)
        if n == 3 or (n > 3 and rng.random() < 0.03):  # about 45 minutes in, then rarely
            category, title, body, kind = _SEVERE_NOW[1 if n == 3 else rng.randrange(2)]
            post = _write(rng, category, 3, (title, body, kind), at, seen)
        else:
            category = rng.choice(categories)
            tier = 2 if rng.random() < 0.2 else 1
            post = _write(rng, category, tier, rng.choice(EVERYDAY[category][tier]), at, seen)
        out.append(replace(post, id=LIVE_FIRST_ID + n, published_at=at.replace(microsecond=0)))
        at += timedelta(minutes=rng.randint(10, 20))
    return out


LIVE_FIRST_ID = 100_000  # above the corpus's ids and soak/world.py's 10,000 + n


def labelled_examples() -> list[LabelledText]:
    """The demo corpus as training examples (title + "\\n" + body) for a first model."""
    now = datetime(2026, 1, 1, tzinfo=_TZ)  # any fixed instant: labels do not depend on it
    return [
        LabelledText(
            text=f"{p.title}\n{p.body}",
            category=p.category,
            severity=p.severity,
            id=f"demo-{p.id}",
        )
        for p in demo_corpus(now)
    ]
