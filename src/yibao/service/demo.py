"""Demo data: a region filled so that a person trying yibao sees something real.

`load_demo` registers the region (from its policy), about 25 institutions in it and 3
hospitals in a neighbouring region, a catalogue of a few hundred drugs, treatment items,
facility standards and self-pay items, and a population of insured persons with valid
resident ID numbers, guardians for the children, enrolments for the year, cards,
special-disease approvals and remote-treatment filings.

Institutions and the catalogue are the same for every load; the persons follow from the
seed: the same seed gives the same persons, to the character. Everything is one
transaction, inserted in batches, so a failed load leaves nothing behind. A region that
already has persons is refused (`demo_exists`): running the demo twice is an error, not
duplicates.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import IntegrityError

from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.enrolment import premium_for
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Approval, Filing, LineClass, Scheme
from yibao.domain.money import to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import (
    CardStatus,
    CatalogueItem,
    Institution,
    InstitutionKind,
)
from yibao.service.access import hash_password
from yibao.service.errors import ConflictError, ServiceError

OTHER_REGION = "other-city"  # a neighbouring region yibao does not run: only a name
BATCH = 500  # rows per executemany

# --- institutions -------------------------------------------------------------------

# (id, name after the region's Chinese name or whole, level, kind, designated, pilot)
_LOCAL_INSTITUTIONS: tuple[tuple[str, str, int, InstitutionKind, bool, bool], ...] = (
    ("H3-001", "{city}第一人民医院", 3, InstitutionKind.HOSPITAL, True, True),
    ("H3-002", "{city}儿童医院", 3, InstitutionKind.HOSPITAL, True, True),
    ("H3-003", "{city}中心医院", 3, InstitutionKind.HOSPITAL, True, False),
    ("H3-004", "{city}肿瘤医院", 3, InstitutionKind.HOSPITAL, True, False),
    ("H2-001", "{city}第二人民医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-002", "{city}第三人民医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-003", "{city}中医医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-004", "{city}妇幼保健院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-005", "{city}城南医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H1-001", "东关镇卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("H1-002", "河口镇卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("H1-003", "青山乡卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("C1-001", "城东社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-002", "城西社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-003", "南湖社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-004", "北苑社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C0-001", "新华路社区卫生服务站", 0, InstitutionKind.CLINIC, True, False),
    ("C0-002", "和平里社区卫生服务站", 0, InstitutionKind.CLINIC, True, False),
    ("C0-003", "桃园村卫生室", 0, InstitutionKind.CLINIC, True, False),
    ("C0-004", "康宁诊所", 0, InstitutionKind.CLINIC, False, False),
    ("C0-005", "美齿口腔门诊部", 0, InstitutionKind.CLINIC, False, False),
    ("P0-001", "仁和大药房(人民路店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-002", "老百姓大药房(解放路店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-003", "益丰大药房(南湖店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-004", "国大药房(火车站店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-005", "同仁堂药店", 0, InstitutionKind.PHARMACY, True, False),
)

# Hospitals in the neighbouring region: referrals, filings and emergencies go there.
_OTHER_INSTITUTIONS: tuple[tuple[str, str, int], ...] = (
    ("OC-H3-001", "省人民医院", 3),
    ("OC-H3-002", "省肿瘤医院", 3),
    ("OC-H3-003", "省儿童医院", 3),
)

# Where an approved special disease is treated (level-3 hospitals above).
_DISEASE_HOSPITALS: dict[str, tuple[str, ...]] = {
    "malignant_tumor": ("H3-004", "H3-004", "H3-001"),
    "dialysis": ("H3-001", "H3-003"),
    "kidney_transplant": ("H3-001",),
}
_DISEASE_WEIGHTS: dict[str, int] = {"malignant_tumor": 50, "dialysis": 35, "kidney_transplant": 15}

# --- the catalogue ------------------------------------------------------------------
#
# Drugs: "stem class name spec[=price] | spec[=price] ...". The stem is X (Western) or Z
# (Chinese patent medicine) and a 5-character classification; the national-style code
# is the stem, a generic-name number, a dosage-form code, the specification and a
# maker number. A price is set for drugs of the volume-based procurement only.
_DRUGS = """
XJ01CA A 阿莫西林胶囊 0.25g×24粒=5.60 | 0.5g×24粒=9.80
XJ01CR A 阿莫西林克拉维酸钾片 0.375g×12片 | 0.625g×12片
XJ01DC A 头孢呋辛酯片 0.125g×12片=7.20 | 0.25g×12片=12.60
XJ01DC B 头孢克洛胶囊 0.25g×12粒
XJ01DD B 头孢克肟分散片 0.1g×6片
XJ01DD A 注射用头孢曲松钠 0.5g | 1.0g
XJ01DD B 注射用头孢哌酮钠舒巴坦钠 1.0g | 1.5g
XJ01MA A 左氧氟沙星片 0.1g×12片 | 0.5g×4片=6.90
XJ01MA A 左氧氟沙星氯化钠注射液 100ml:0.5g
XJ01MA B 莫西沙星片 0.4g×3片
XJ01FA A 阿奇霉素片 0.25g×6片
XJ01FA B 注射用阿奇霉素 0.5g
XJ01FA A 克拉霉素片 0.25g×6片
XJ01FA A 罗红霉素胶囊 150mg×12粒
XJ01XD A 甲硝唑片 0.2g×100片
XJ01XD A 甲硝唑氯化钠注射液 100ml:0.5g
XJ01CE A 注射用青霉素钠 80万单位 | 160万单位
XJ01CR B 注射用哌拉西林钠他唑巴坦钠 4.5g
XJ01DH B 注射用美罗培南 0.5g
XJ01XA B 注射用盐酸万古霉素 0.5g
XJ01XX B 利奈唑胺片 600mg×10片
XJ01EE A 复方磺胺甲噁唑片 0.48g×100片
XJ05AH B 磷酸奥司他韦胶囊 75mg×10粒
XJ05AB A 阿昔洛韦片 0.2g×24片
XJ05AF B 恩替卡韦分散片 0.5mg×28片=8.90
XJ05AF B 富马酸替诺福韦二吡呋酯片 300mg×30片=14.10
XJ02AC A 氟康唑胶囊 50mg×12粒 | 150mg×2粒
XM01AE A 布洛芬缓释胶囊 0.3g×20粒
XM01AE A 布洛芬混悬液 100ml:2g
XN02BE A 对乙酰氨基酚片 0.5g×12片
XN02BE A 对乙酰氨基酚口服混悬液 100ml:3.2g
XM01AB A 双氯芬酸钠缓释片 75mg×10片
XM01AH B 塞来昔布胶囊 0.2g×6粒=4.80
XN02AX B 盐酸曲马多缓释片 100mg×10片
XN02AA A 盐酸吗啡注射液 1ml:10mg
XN02AA B 盐酸羟考酮缓释片 10mg×10片 | 40mg×10片
XC08CA A 硝苯地平控释片 30mg×7片
XC08CA A 苯磺酸氨氯地平片 5mg×28片=3.10
XC08CA B 苯磺酸左旋氨氯地平片 2.5mg×14片
XC09CA B 缬沙坦胶囊 80mg×28粒=6.20
XC09CA B 厄贝沙坦片 0.15g×28片=7.60
XC09CA B 氯沙坦钾片 50mg×28片
XC09AA A 马来酸依那普利片 10mg×16片
XC09AA A 卡托普利片 25mg×100片
XC07AB A 琥珀酸美托洛尔缓释片 47.5mg×7片
XC07AB B 富马酸比索洛尔片 5mg×10片
XC03AA A 氢氯噻嗪片 25mg×100片
XC03CA A 呋塞米片 20mg×100片
XC03CA A 呋塞米注射液 2ml:20mg
XC03DA A 螺内酯片 20mg×100片
XC10AA A 阿托伐他汀钙片 10mg×28片 | 20mg×28片=5.90
XC10AA B 瑞舒伐他汀钙片 10mg×28片=4.20
XB01AC A 阿司匹林肠溶片 100mg×30片
XB01AC B 硫酸氢氯吡格雷片 75mg×28片=12.80
XB01AA A 华法林钠片 2.5mg×60片
XB01AF B 利伐沙班片 10mg×10片 | 20mg×10片
XB01AB B 低分子量肝素钙注射液 0.4ml:4100IU
XC01DA A 硝酸甘油片 0.5mg×100片
XC01DA B 单硝酸异山梨酯缓释片 40mg×24片
XC01AA A 地高辛片 0.25mg×100片
XC01BD A 盐酸胺碘酮片 0.2g×10片
XA10BA A 盐酸二甲双胍片 0.25g×48片 | 0.5g×60片=5.10
XA10BA B 盐酸二甲双胍缓释片 0.5g×30片
XA10BB B 格列美脲片 2mg×30片=4.30
XA10BB A 格列齐特缓释片 30mg×30片
XA10BF B 阿卡波糖片 50mg×30片=11.10
XA10BH B 磷酸西格列汀片 100mg×14片
XA10BK B 达格列净片 10mg×14片
XA10AB A 胰岛素注射液 10ml:400单位
XA10AD A 精蛋白生物合成人胰岛素注射液(预混30R) 3ml:300单位
XA10AB B 门冬胰岛素注射液 3ml:300单位=24.90
XA10AE B 甘精胰岛素注射液 3ml:300单位=66.00
XA02BC A 奥美拉唑肠溶胶囊 20mg×14粒=2.90
XA02BC B 注射用奥美拉唑钠 40mg
XA02BC B 泮托拉唑钠肠溶片 40mg×7片
XA02BC B 雷贝拉唑钠肠溶片 10mg×14片
XA02AD B 铝碳酸镁咀嚼片 0.5g×20片
XA07BC A 蒙脱石散 3g×10袋
XA03FA A 多潘立酮片 10mg×30片
XA03FA B 枸橼酸莫沙必利片 5mg×24片
XA06AD B 乳果糖口服溶液 100ml:66.7g
XA07FA B 双歧杆菌三联活菌胶囊 210mg×24粒
XA07CA A 口服补液盐散(III) 5.125g×6袋
XR05CB A 盐酸氨溴索片 30mg×20片
XR05CB B 盐酸氨溴索口服溶液 100ml:0.6g
XR03AC A 硫酸沙丁胺醇吸入气雾剂 100μg×200揿
XR03BA B 吸入用布地奈德混悬液 2ml:1mg
XR03AK B 布地奈德福莫特罗吸入粉雾剂 160μg/4.5μg×60吸
XR03DC B 孟鲁司特钠咀嚼片 4mg×5片 | 5mg×5片=3.50
XR06AX A 氯雷他定片 10mg×6片
XR06AE B 盐酸西替利嗪片 10mg×12片
XH02AB A 醋酸泼尼松片 5mg×100片
XH02AB A 地塞米松磷酸钠注射液 1ml:5mg
XH02AB B 甲泼尼龙片 4mg×30片
XH03AA A 左甲状腺素钠片 50μg×100片
XH03BB A 甲巯咪唑片 5mg×50片
XN03AF A 卡马西平片 0.1g×100片
XN03AG B 丙戊酸钠缓释片 0.5g×30片
XN03AX B 左乙拉西坦片 0.25g×30片 | 0.5g×30片
XN05BA A 地西泮片 2.5mg×100片
XN05CD A 艾司唑仑片 1mg×20片
XN06AB B 盐酸舍曲林片 50mg×14片=6.40
XN06AB B 盐酸帕罗西汀片 20mg×10片
XN05AH B 奥氮平片 5mg×28片
XN06DA B 盐酸多奈哌齐片 5mg×28片
XB03BA B 甲钴胺片 0.5mg×20片
XL01XA A 顺铂注射液 6ml:30mg
XL01XA A 卡铂注射液 10ml:100mg
XL01XA B 注射用奥沙利铂 50mg
XL01CD A 紫杉醇注射液 5ml:30mg
XL01CD B 多西他赛注射液 0.5ml:20mg
XL01BC B 注射用盐酸吉西他滨 0.2g | 1.0g
XL01BC A 氟尿嘧啶注射液 10ml:0.25g
XL01BC B 卡培他滨片 0.5g×12片=16.10
XL01AA A 注射用环磷酰胺 0.2g
XL01BA A 甲氨蝶呤片 2.5mg×16片
XL01CA A 注射用硫酸长春新碱 1mg
XL01DB A 注射用盐酸柔红霉素 20mg
XL01XX A 维A酸片 10mg×20片
XL01XX B 亚砷酸注射液 10ml:10mg
XL01XX B 培门冬酶注射液 5ml:3750IU
XL01EA B 甲磺酸伊马替尼片 0.1g×60片=590.00
XL01EB B 吉非替尼片 0.25g×10片=547.00
XA04AA A 盐酸昂丹司琼注射液 2ml:4mg
XL04AD B 他克莫司胶囊 0.5mg×50粒 | 1mg×50粒
XL04AD A 环孢素软胶囊 25mg×50粒
XL04AA B 吗替麦考酚酯胶囊 0.25g×40粒
XB03XA B 重组人促红素注射液 2000IU | 10000IU
XB03AC B 蔗糖铁注射液 5ml:100mg
XA12AA A 碳酸钙片 0.5g×60片
XA11CC B 骨化三醇软胶囊 0.25μg×10粒
XV03AE B 碳酸司维拉姆片 800mg×36片
XA16AA B 左卡尼汀注射液 5ml:1g
XB05XA A 氯化钠注射液 100ml:0.9g | 250ml:2.25g | 500ml:4.5g
XB05BA A 葡萄糖注射液 250ml:12.5g | 500ml:25g
XB05BB A 葡萄糖氯化钠注射液 500ml
XB05XA A 氯化钾注射液 10ml:1.5g
XB05AA B 人血白蛋白注射液 10g
XA11GA A 维生素C片 0.1g×100片
XB03BB A 叶酸片 0.4mg×31片
XB03AA A 硫酸亚铁片 0.3g×100片
XA11DA A 维生素B1片 10mg×100片
XN01BB A 盐酸利多卡因注射液 5ml:0.1g
XN01AX A 丙泊酚乳状注射液 20ml:0.2g
XC01CA A 盐酸肾上腺素注射液 1ml:1mg
XS01AE A 左氧氟沙星滴眼液 5ml:24.4mg
XS01AA A 红霉素眼膏 2g:10mg
XD06AX B 莫匹罗星软膏 5g:0.1g
ZA01AA B 连花清瘟胶囊 0.35g×24粒
ZA12BA A 复方丹参滴丸 27mg×180丸
ZA01AB A 板蓝根颗粒 10g×20袋
ZA09AA A 六味地黄丸 每8丸相当于饮片3g×200丸
ZA01AC A 藿香正气水 10ml×10支
ZA01BA B 小儿豉翘清热颗粒 2g×6袋
ZA12CA B 血塞通软胶囊 0.33g×24粒
ZA12DA B 通心络胶囊 0.26g×30粒
ZA04BA B 蒲地蓝消炎口服液 10ml×10支
ZA12EA B 丹参注射液 10ml
ZA01AD A 感冒清热颗粒 12g×10袋
ZA04CA A 牛黄解毒片 0.3g×24片
ZA13AA A 云南白药胶囊 0.25g×16粒
ZA09BA B 金水宝胶囊 0.33g×63粒
ZA12FA A 麝香保心丸 22.5mg×42丸
"""

# Drugs outside the catalogues: all personal.
_SELF_PAY_DRUGS = """
XJ07BM S 九价人乳头瘤病毒疫苗 0.5ml=1318.00
XJ07BB S 四价流感病毒裂解疫苗 0.5ml=128.00
XJ07BG S 人用狂犬病疫苗(Vero细胞) 1.0ml=63.00
XA11GA S 维生素C咀嚼片 100mg×60片
XC10AX S 深海鱼油软胶囊 1g×100粒
XN05CH S 褪黑素片 3mg×60片
XH01AC S 注射用重组人生长激素(美容抗衰) 4IU
XM09AX S 注射用透明质酸钠凝胶(面部填充) 1ml
XD11AX S 米诺地尔酊 60ml
ZA09CA S 阿胶 250g
ZA09CB S 西洋参片 100g
ZA09CC S 冬虫夏草 10g
ZA09CD S 燕窝 50g
"""

# Treatment items and facility standards: "chapter name price". The national-style code
# is 00, the 4-digit chapter, a 5-digit number within it and 0000.
_TREATMENTS = """
1102 普通门诊诊查费 10.00
1102 副主任医师门诊诊查费 20.00
1102 主任医师门诊诊查费 30.00
1102 急诊诊查费 12.00
1102 住院诊查费 15.00
1102 院内会诊费 40.00
1201 特级护理 80.00
1201 一级护理 26.00
1201 二级护理 15.00
1201 三级护理 8.00
1202 肌肉注射 3.00
1202 皮下注射 3.00
1202 静脉注射 5.00
1202 静脉输液 8.00
1202 小儿头皮静脉输液 10.00
1203 换药(小) 10.00
1203 换药(中) 20.00
1203 换药(大) 35.00
1204 吸氧 2.50
1204 雾化吸入 6.00
1204 导尿 15.00
1204 洗胃 40.00
1204 心电监测 5.00
1204 清创缝合(小) 60.00
2101 胸部X线摄影(DR) 60.00
2101 腹部X线摄影(DR) 60.00
2101 四肢关节X线摄影(DR) 50.00
2103 CT检查(头颅平扫) 180.00
2103 CT检查(胸部平扫) 200.00
2103 CT检查(腹部平扫) 220.00
2103 CT检查(增强扫描加收) 380.00
2104 磁共振检查(头颅平扫) 450.00
2104 磁共振检查(腰椎平扫) 480.00
2201 腹部彩色多普勒超声 120.00
2201 心脏彩色多普勒超声 220.00
2201 甲状腺彩色多普勒超声 80.00
2201 妇科B超 90.00
2301 常规心电图 15.00
2301 24小时动态心电图 150.00
2301 24小时动态血压监测 80.00
2401 适形放射治疗(每次) 800.00
2401 调强放射治疗(每次) 1200.00
2501 血常规 20.00
2501 尿常规 10.00
2501 粪便常规 8.00
2501 C反应蛋白测定 30.00
2501 凝血四项 80.00
2501 ABO血型鉴定 20.00
2501 骨髓细胞形态学检查 120.00
2503 肝功能 60.00
2503 肾功能 40.00
2503 血脂四项 40.00
2503 空腹血糖 6.00
2503 糖化血红蛋白 60.00
2503 电解质 30.00
2503 心肌酶谱 60.00
2504 乙肝五项 60.00
2504 甲状腺功能 90.00
2504 癌胚抗原(CEA)测定 40.00
2504 甲胎蛋白(AFP)测定 35.00
2504 他克莫司血药浓度测定 150.00
2505 细菌培养及鉴定 80.00
2505 药物敏感试验 60.00
2701 组织病理学检查 150.00
3102 腰椎穿刺术 60.00
3103 骨髓穿刺术 60.00
3105 眼底检查 15.00
3107 简单牙拔除术 30.00
3107 牙体缺损充填 60.00
3109 经皮冠状动脉支架置入术 3500.00
3111 电子胃镜检查 200.00
3111 电子结肠镜检查 300.00
3115 血液透析 420.00
3115 血液透析滤过 600.00
3115 腹膜透析 80.00
3116 静脉化疗给药 50.00
3301 全身麻醉 600.00
3301 局部浸润麻醉 30.00
3307 房间隔缺损修补术 4500.00
3307 室间隔缺损修补术 5000.00
3307 动脉导管未闭结扎术 3000.00
3309 阑尾切除术 900.00
3309 腹腔镜胆囊切除术 2500.00
3310 同种异体肾移植术 8000.00
3312 剖宫产术 1200.00
3305 白内障超声乳化摘除术 1800.00
3402 普通针刺 20.00
3402 推拿治疗 30.00
3402 中频脉冲电治疗 15.00
"""

_FACILITIES = """
1109 普通病房床位费(三人间) 30.00
1109 普通病房床位费(双人间) 50.00
1109 普通病房床位费(单人间) 80.00
1109 重症监护病房床位费 120.00
1109 新生儿床位费 20.00
1109 层流洁净病房床位费 180.00
1109 急诊观察床位费 20.00
1109 家庭病床建床费 20.00
1110 病房取暖费 3.00
1110 病房空调费 3.00
1111 救护车费(市区) 50.00
1111 院前急救费 100.00
1112 中药饮片煎药费 2.00
1112 住院病历工本费 1.00
"""

_SELF_PAY_SERVICES = """
1109 特需病房床位费 300.00
1109 陪护床位费 10.00
1113 入职健康体检套餐 150.00
1113 健康体检基因检测 1500.00
3107 种植牙(单颗) 6000.00
3107 冷光牙齿美白 1500.00
3105 准分子激光近视矫正术 7000.00
3105 验光配镜 30.00
3119 重睑成形术 3000.00
3119 激光祛斑 800.00
3119 肉毒素除皱注射 2000.00
3402 减重代谢门诊管理 500.00
"""

_FORMS = (  # dosage form in the name -> form code
    ("滴眼液", "E001"),
    ("眼膏", "E002"),
    ("软膏", "O001"),
    ("疫苗", "V001"),
    ("注射", "I001"),
    ("气雾", "A001"),
    ("吸入", "A002"),
    ("胶囊", "C001"),
    ("颗粒", "G001"),
    ("滴丸", "P002"),
    ("丸", "P001"),
    ("散", "S001"),
    ("液", "L001"),
    ("水", "L002"),
    ("酊", "L003"),
    ("片", "T001"),
)


def _form(name: str) -> str:
    return next((code for word, code in _FORMS if word in name), "Z001")


_CLASSES = {"A": LineClass.A, "B": LineClass.B, "S": LineClass.SELF_PAY}


def catalogue() -> list[CatalogueItem]:
    """The demo catalogue: the same for every region and seed."""
    items: list[CatalogueItem] = []
    generic = 0
    for block in (_DRUGS, _SELF_PAY_DRUGS):
        for line in block.strip().splitlines():
            stem, cls, name, specs = line.split(" ", 3)
            generic += 1
            for i, spec in enumerate(specs.split(" | "), start=1):
                text, _, price = spec.partition("=")
                maker = (generic * 7919 + i * 104729) % 99991
                code = f"{stem}A{generic:03d}{_form(name)}{i:02d}01{maker:05d}"
                items.append(
                    CatalogueItem(
                        code, f"{name}({text})", _CLASSES[cls], Decimal(price) if price else None
                    )
                )
    counters: dict[str, int] = {}
    for block, cls in (
        (_TREATMENTS, LineClass.A),
        (_FACILITIES, LineClass.A),
        (_SELF_PAY_SERVICES, LineClass.SELF_PAY),
    ):
        for line in block.strip().splitlines():
            chapter, name, price = line.split(" ")
            counters[chapter] = counters.get(chapter, 0) + 1
            code = f"00{chapter}{counters[chapter]:05d}0000"
            items.append(CatalogueItem(code, name, cls, Decimal(price)))
    return items


def institutions(policy: RegionPolicy) -> list[Institution]:
    """The demo institutions: about 25 in the region, 3 hospitals in `other-city`."""
    city = policy.name.zh
    runs_pilot = policy.pilot is not None  # pilot hospitals only where the pilot runs
    local = [
        Institution(
            iid, policy.code, name.format(city=city), level, kind, designated, pilot and runs_pilot
        )
        for iid, name, level, kind, designated, pilot in _LOCAL_INSTITUTIONS
    ]
    other = [
        Institution(iid, OTHER_REGION, name, level, InstitutionKind.HOSPITAL, True)
        for iid, name, level in _OTHER_INSTITUTIONS
    ]
    return [*local, *other]


# --- names --------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = _words(
    "王71 李70 张68 刘54 陈46 杨31 黄24 赵23 吴20 周19 徐15 孙15 马14 朱13 胡13 郭12 何12 "
    "高11 林11 罗10 郑9 梁9 谢8 宋7 唐7 许7 韩7 冯7 邓7 曹6 彭6 曾6 肖6 田5 董5 袁5 潘5 "
    "于5 蒋5 蔡5 余5 杜5 叶4 程4 苏4 魏4 吕4 丁4 任4 沈4 姚4 卢3 姜3 崔3 钟3 谭3 陆3 汪3 "
    "范3 金3 石3 廖3 贾3 夏3 韦3 付3 方3 白3 邹3 孟3 熊3 秦3 邱3 江3 尹3 薛2 闫2 段2 雷2 "
    "侯2 龙2 史2 陶2 黎2 贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2 欧阳1 司马1"
)
_SURNAME_LIST = [s.rstrip("0123456789") for s in _SURNAMES]  # weights: per mille, roughly
_SURNAME_CUM = list(
    accumulate(int(s[len(n) :]) for s, n in zip(_SURNAMES, _SURNAME_LIST, strict=True))
)

# Given names by the decade people were born in (before 1960, 1960s-70s, 1980s-90s,
# 2000 on) and sex.
_GIVEN: dict[tuple[int, str], tuple[str, ...]] = {
    (0, "M"): _words(
        "建国 国华 德明 志强 振华 长生 福全 金山 树林 广才 富贵 永祥 保国 文彬 桂林 玉成"
    ),
    (0, "F"): _words("秀英 桂兰 玉兰 淑珍 秀兰 凤英 玉珍 桂英 秀珍 淑英 翠花 兰英 素芬 玉梅 桂芳"),
    (1, "M"): _words("建军 卫东 红兵 建平 志刚 海涛 立新 国强 伟 勇 军 斌 刚 强 明 辉 建华"),
    (1, "F"): _words("红梅 丽华 建英 丽 霞 燕 敏 静 红 艳 玲 丽娟 春花 秀梅 美玲"),
    (2, "M"): _words("磊 鹏 杰 涛 超 浩 宇 俊杰 志伟 晓东 建伟 鑫 晨 帅 亮 博 文涛"),
    (2, "F"): _words("婷婷 丹 晶 倩 莉 雪 佳 静怡 晓燕 娜 颖 丽娜 欢 慧 琳 思琪"),
    (3, "M"): _words(
        "子轩 浩然 宇轩 梓豪 俊熙 一诺 子墨 皓轩 宇航 奕辰 铭泽 睿 沐阳 锦程 思源 嘉懿"
    ),
    (3, "F"): _words(
        "子涵 梓萱 欣怡 语桐 诗涵 一诺 雨桐 可馨 思彤 若汐 梓涵 依诺 佳怡 欣妍 紫萱 沐晴"
    ),
}

_PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 177 180 181 182 183 185 186 187 188 189 191 198 199"
)


def _era(born: date) -> int:
    return 0 if born.year < 1960 else 1 if born.year < 1980 else 2 if born.year < 2000 else 3


# --- the population -----------------------------------------------------------------


@dataclass(eq=False)
class _Person:
    role: str  # child | resident | employee
    birth_date: date
    sex: str
    scheme: Scheme
    retired: bool = False
    contribution_years: int | None = None
    surname: str = ""
    name: str = ""
    guardian: _Person | None = None
    children: list[_Person] = field(default_factory=list)
    assistance: bool = False
    phone: str | None = None
    id: str = ""
    id_number: str = ""
    card: str = ""
    card_status: CardStatus = CardStatus.ACTIVE
    issued_on: date | None = None
    approval: Approval | None = None
    filing: Filing | None = None


@dataclass(frozen=True)
class DemoSample:
    """One person to try the system with."""

    person_id: str
    name: str
    card_number: str
    scheme: str
    note: str


@dataclass(frozen=True)
class DemoSummary:
    region: str
    year: int
    seed: int
    institutions: int  # in the region and in other-city
    catalogue_items: int
    persons: int
    children: int
    guardians: int
    assistance: int
    cards: int
    lost_cards: int
    approvals: int
    filings: int
    child: DemoSample | None  # a pilot-age student with an active card
    employee: DemoSample | None  # a working employee with an active card
    approved: DemoSample | None  # an adult resident with an approved special disease
    retiree_short: DemoSample | None  # a retiree with too few contribution years
    lost_card: DemoSample | None  # a person whose card is reported lost
    filed: DemoSample | None  # a person with a remote-treatment filing to other-city

    def describe(self) -> str:
        """A few lines for a person about to try the system."""
        lines = [
            f"demo region {self.region} {self.year} (seed {self.seed}): {self.persons:,} persons "
            f"({self.children:,} children), {self.institutions} institutions, "
            f"{self.catalogue_items} catalogue items, {self.approvals} approvals, {self.filings} filings",
            f"sign in (POST /v1/auth/tokens) as clerk, approver, guardian or an institution in "
            f"lower case (h3-001), password {DEMO_PASSWORD!r}; try these cards:",
        ]
        for sample in (
            self.child,
            self.employee,
            self.approved,
            self.retiree_short,
            self.lost_card,
            self.filed,
        ):
            if sample is not None:
                lines.append(
                    f"  {sample.card_number}  {sample.person_id} {sample.name} ({sample.scheme}): {sample.note}"
                )
        return "\n".join(lines)


def _share(n: int, share: float) -> int:
    """round(n * share), half up (not to even), so small loads still get their few."""
    return int(n * share + 0.5)


def _day(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _born(rng: random.Random, year: int, age: int) -> date:
    """A birth date making the person `age` in completed years on 1 January of `year`."""
    return _day(rng, date(year - age - 1, 1, 2), date(year - age, 1, 1))


class _Population:
    """Builds the persons of one load from one random generator, in a fixed order."""

    def __init__(self, policy: RegionPolicy, year: int, seed: int) -> None:
        self.policy = policy
        self.year = year
        self.rng = random.Random(seed)
        self.jan1 = date(year, 1, 1)
        self.dec31 = date(year, 12, 31)
        try:
            offered = policy.offered.at(self.jan1).value
        except PolicyGapError as exc:
            raise ServiceError(
                "no_policy_for_year",
                f"{policy.code} has no policy in force on {self.jan1.isoformat()}: {exc}",
                region=policy.code,
                year=year,
            ) from None
        self.offered = offered
        self.used_sequences: set[tuple[date, int]] = set()

    def _scheme(self, *preferred: Scheme) -> Scheme:
        for scheme in preferred:
            if scheme.value in self.offered:
                return scheme
        raise ServiceError(
            "demo_no_scheme",
            f"{self.policy.code} offers none of {', '.join(s.value for s in preferred)} in {self.year}",
            region=self.policy.code,
        )

    def _sex(self) -> str:
        return "M" if self.rng.random() < 0.5 else "F"

    def build(self, n: int) -> list[_Person]:
        rng = self.rng
        n_child = _share(n, 0.30)
        n_employee = _share(n, 0.40)
        n_resident = n - n_child - n_employee
        employees_offered = Scheme.EMPLOYEE.value in self.offered
        adult_scheme = self._scheme(Scheme.RESIDENT, Scheme.STUDENT)
        child_scheme = self._scheme(Scheme.STUDENT, Scheme.RESIDENT)
        adults: list[_Person] = []
        for _ in range(n_resident):
            # Elderly, unemployed and disabled residents: many of them old.
            age = _old_age(rng, 60) if rng.random() < 0.5 else rng.randint(18, 59)
            adults.append(
                _Person("resident", _born(rng, self.year, age), self._sex(), adult_scheme)
            )
        for _ in range(n_employee):
            sex = self._sex()
            retire_at = 60 if sex == "M" else 55
            if rng.random() < 0.28:
                age = _old_age(rng, retire_at)
                if rng.random() < 0.08:  # retired with too few contribution years
                    years = rng.randint(8, 19)
                else:
                    years = rng.randint(20, min(42, age - 18))
                retired = True
            else:
                age = rng.randint(22, retire_at - 1)
                years = rng.randint(1, age - 20)
                retired = False
            if employees_offered:
                adults.append(
                    _Person(
                        "employee", _born(rng, self.year, age), sex, Scheme.EMPLOYEE, retired, years
                    )
                )
            else:  # the region runs residents' insurance only
                adults.append(_Person("resident", _born(rng, self.year, age), sex, adult_scheme))
        for p in adults:
            p.surname = self._surname()
        children = [self._child(child_scheme) for _ in range(n_child)]
        self._link_guardians(children, adults)
        everyone = adults + children
        for p in everyone:
            p.name = p.surname + rng.choice(_GIVEN[_era(p.birth_date), p.sex])
        self._assistance(adults, n)
        rng.shuffle(everyone)
        self._identify(everyone)
        return everyone

    def _surname(self) -> str:
        return self.rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]

    def _child(self, scheme: Scheme) -> _Person:
        # Born from 17 to 2 years before the year's 1 January (2009-2024 for 2026).
        born = _day(self.rng, date(self.year - 17, 1, 1), date(self.year - 2, 12, 31))
        return _Person("child", born, self._sex(), scheme)

    def _link_guardians(self, children: list[_Person], adults: list[_Person]) -> None:
        """Each child gets one adult, 20 to 45 years older where there is one, and at most
        three children to an adult where possible; the child takes the adult's surname."""
        if not children:
            return
        rng = self.rng
        by_birth = sorted(adults, key=lambda a: a.birth_date)  # stable: same order each run
        births = [a.birth_date for a in by_birth]
        for child in children:
            lo = bisect.bisect_left(births, _years_before(child.birth_date, 45))
            hi = bisect.bisect_right(births, _years_before(child.birth_date, 20))
            if lo >= hi:  # nobody of parent age: the youngest older one, or the oldest
                lo = max(lo - 1, 0)
                hi = lo + 1
            guardian = by_birth[rng.randrange(lo, hi)]
            for _ in range(8):
                if len(guardian.children) < 3:
                    break
                guardian = by_birth[rng.randrange(lo, hi)]
            child.guardian = guardian
            child.surname = guardian.surname
            guardian.children.append(child)

    def _assistance(self, adults: list[_Person], n: int) -> None:
        """About 5% of persons in low-income or special-hardship families: adult residents
        and the children in their care."""
        target = _share(n, 0.05)
        candidates = [a for a in adults if a.role == "resident"]
        self.rng.shuffle(candidates)
        count = 0
        for adult in candidates:
            if count >= target:
                break
            for member in (adult, *adult.children):
                member.assistance = True
            count += 1 + len(adult.children)

    def _identify(self, everyone: list[_Person]) -> None:
        rng = self.rng
        prefix = region_prefix(self.policy.code)
        card_numbers = rng.sample(range(10**9, 10**10), len(everyone))
        for i, p in enumerate(everyone, start=1):
            p.id = f"{prefix}-{i:06d}"
            while True:  # odd for men, even for women, never used twice for a birth date
                sequence = rng.randrange(0, 499) * 2 + (1 if p.sex == "M" else 2)
                if (p.birth_date, sequence) not in self.used_sequences:
                    self.used_sequences.add((p.birth_date, sequence))
                    break
            p.id_number = make_resident_id(self.policy.admdvs, p.birth_date, sequence)
            p.card = f"{prefix}{card_numbers[i - 1]:010d}"
            issued = _day(rng, date(self.year - 6, 1, 1), date(self.year - 1, 11, 30))
            p.issued_on = max(issued, p.birth_date + timedelta(days=60))
        for p in everyone:  # a child's contact is the guardian's phone
            if p.role != "child":
                p.phone = rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        for p in everyone:
            if p.guardian is not None:
                p.phone = p.guardian.phone

    def certify(self, everyone: list[_Person]) -> None:
        """Approvals (~2% of adults), filings (~0.5% of persons), lost cards (~1%)."""
        rng = self.rng
        adults = [p for p in everyone if p.role != "child"]
        by_scheme = {
            s: [p for p in adults if p.scheme is s] for s in (Scheme.RESIDENT, Scheme.EMPLOYEE)
        }
        for group in by_scheme.values():
            if not group:
                continue
            for p in rng.sample(group, max(1, _share(len(group), 0.02))):
                p.approval = self._approval(p)
        others = [p for p in adults if p.approval is None]
        for p in rng.sample(others, min(len(others), max(1, _share(len(everyone), 0.005)))):
            p.filing = Filing(
                OTHER_REGION,
                _day(rng, date(self.year - 1, 3, 1), self.jan1),
                self.dec31,
            )
        plain = [p for p in everyone if p.approval is None and p.filing is None]
        for p in rng.sample(plain, min(len(plain), _share(len(everyone), 0.01))):
            p.card_status = CardStatus.LOST

    def _approval(self, p: _Person) -> Approval | None:
        rules = self.policy.schemes.get(p.scheme.value)
        if rules is None or rules.special_outpatient is None:
            return None
        try:
            allowed = rules.special_outpatient.diseases.at(self.jan1).value
        except PolicyGapError:
            return None
        diseases = sorted(allowed)
        if not diseases:
            return None
        weights = [_DISEASE_WEIGHTS.get(d, 10) for d in diseases]
        disease = self.rng.choices(diseases, weights=weights)[0]
        hospital = self.rng.choice(_DISEASE_HOSPITALS.get(disease, ("H3-001", "H3-003")))
        approved = _day(self.rng, date(self.year - 3, 1, 1), date(self.year - 1, 12, 31))
        return Approval(disease, hospital, approved, self.dec31)


def _old_age(rng: random.Random, start: int) -> int:
    """An age from `start` to 95, most of them in the first years (fewer live longer)."""
    return int(rng.triangular(start, 96, start + 2))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def region_prefix(code: str) -> str:
    """Two capitals from a region code, for person ids and card numbers: sample-city: SC."""
    parts = [p for p in code.replace("_", "-").split("-") if p]
    letters = "".join(p[0] for p in parts if p[0].isascii() and p[0].isalpha())
    if len(letters) < 2:
        letters = "".join(c for c in code if c.isascii() and c.isalpha())
    return (letters[:2] or "YB").upper().ljust(2, "X")


# --- loading ------------------------------------------------------------------------


def _batches(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _insert_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for batch in _batches(rows):
        conn.execute(insert(table), list(batch))


def _sample(p: _Person | None, note: str) -> DemoSample | None:
    if p is None:
        return None
    return DemoSample(p.id, p.name, p.card, p.scheme.value, note)


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def load_demo(
    uow_factory: Callable[[], UnitOfWork],
    policies: Callable[[str], RegionPolicy],
    *,
    region: str = "sample-city",
    persons: int = 3000,
    year: int = 2026,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill `region` with demo institutions, catalogue and `persons` insured persons for
    `year`, the same for the same seed. Refuses a region that already has persons."""
    if persons < 1:
        raise ServiceError("demo_persons", "the demo needs at least one person", persons=persons)
    policy = policies(region)
    population = _Population(policy, year, seed)
    people = population.build(persons)
    population.certify(people)
    places = institutions(policy)
    items = catalogue()

    with uow_factory() as uow:
        conn = uow.connection
        existing = conn.execute(
            select(t.persons.c.id).where(t.persons.c.region == policy.code).limit(1)
        ).first()
        if existing is not None:
            raise ConflictError(
                "demo_exists",
                f"{policy.code} already has persons; the demo loads into an empty region only",
                region=policy.code,
            )
        try:
            _write(uow, policy, places, items, people, year, progress)
            _accounts(uow, policy, places, people)
        except IntegrityError as exc:
            raise ConflictError(
                "demo_conflict",
                "the demo's institutions, catalogue codes, persons or cards are already in the "
                f"database (another region's demo?): {exc.orig}",
                region=policy.code,
            ) from None
        uow.commit()

    return _summary(policy, year, seed, places, items, people)


# Every demo account signs in with this password (POST /v1/auth/tokens). A demo only.
DEMO_PASSWORD = "yibao-demo"


def _accounts(
    uow: UnitOfWork, policy: RegionPolicy, places: list[Institution], people: list[_Person]
) -> None:
    """Accounts to try the roles with: a clerk and an approver of the region, one per
    institution (named as the institution, lower case), and a guardian of the first
    child with a guardian."""
    secret = hash_password(DEMO_PASSWORD)
    rows: list[dict[str, object]] = [
        {"id": "clerk", "role": "clerk", "name": "演示柜员", "region": policy.code},
        {"id": "approver", "role": "approver", "name": "演示区中心审批", "region": policy.code},
    ]
    rows += [
        {"id": inst.id.lower(), "role": "institution", "name": inst.name, "institution_id": inst.id}
        for inst in places
    ]
    parent = next(
        (p.guardian for p in sorted(people, key=lambda p: p.id) if p.guardian is not None), None
    )
    if parent is not None:
        rows.append(
            {"id": "guardian", "role": "guardian", "name": parent.name, "person_id": parent.id}
        )
    for row in rows:
        uow.accounts.add({**row, "password_hash": secret})


def _premium(policy: RegionPolicy, person: _Person, year: int) -> dict[str, object]:
    """The premium a resident or student paid for the year, as enrolment would have
    split it (employees pay through their employer: nothing here). Paid in the window."""
    if policy.enrolment is None or person.scheme is Scheme.EMPLOYEE:
        # Every row the same keys: one INSERT for the batch.
        return {
            "channel": "demo",
            "personal_fen": 0,
            "subsidy_fen": 0,
            "assistance_fen": 0,
            "paid_on": None,
        }
    split = premium_for(policy.enrolment, person.scheme.value, year, person.assistance)
    return {
        "channel": "demo",
        "personal_fen": to_fen(split.personal),
        "subsidy_fen": to_fen(split.subsidy),
        "assistance_fen": to_fen(split.assistance),
        "paid_on": date(year - 1, 10, 20),
    }


def _summary(
    policy: RegionPolicy,
    year: int,
    seed: int,
    places: list[Institution],
    items: list[CatalogueItem],
    people: list[_Person],
) -> DemoSummary:
    jan1 = date(year, 1, 1)
    by_id = sorted(people, key=lambda p: p.id)
    children = [p for p in by_id if p.role == "child"]
    lost = [p for p in by_id if p.card_status is CardStatus.LOST]
    usable = [p for p in by_id if p.card_status is CardStatus.ACTIVE]
    min_years = _min_contribution_years(policy, year)
    pilot_age = _pilot_age(policy, year)

    def first(test: Callable[[_Person], bool]) -> _Person | None:
        return next((p for p in usable if test(p)), None)

    child = first(lambda p: p.role == "child" and _age(p.birth_date, jan1) <= pilot_age)
    employee = first(
        lambda p: (
            p.scheme is Scheme.EMPLOYEE
            and not p.retired
            and p.approval is None
            and p.filing is None
        )
    )
    approved = first(lambda p: p.role == "resident" and p.approval is not None)
    short = first(lambda p: p.retired and (p.contribution_years or 0) < min_years)
    filed = first(lambda p: p.filing is not None)
    return DemoSummary(
        region=policy.code,
        year=year,
        seed=seed,
        institutions=len(places),
        catalogue_items=len(items),
        persons=len(people),
        children=len(children),
        guardians=sum(1 for p in children if p.guardian is not None),
        assistance=sum(1 for p in people if p.assistance),
        cards=len(people),
        lost_cards=len(lost),
        approvals=sum(1 for p in people if p.approval is not None),
        filings=sum(1 for p in people if p.filing is not None),
        child=_sample(child, f"child aged {pilot_age} or under on {jan1.isoformat()}"),
        employee=_sample(employee, "working employee"),
        approved=_sample(
            approved,
            "approved special disease"
            if approved is None or approved.approval is None
            else f"approved {approved.approval.disease} at {approved.approval.hospital}",
        ),
        retiree_short=_sample(short, f"retired, fewer than {min_years} contribution years"),
        lost_card=_sample(lost[0] if lost else None, "card reported lost"),
        filed=_sample(filed, f"remote-treatment filing to {OTHER_REGION}"),
    )


def _min_contribution_years(policy: RegionPolicy, year: int) -> int:
    rules = policy.schemes.get(Scheme.EMPLOYEE.value)
    if rules is None or rules.retiree_min_contribution_years is None:
        return 20
    try:
        return rules.retiree_min_contribution_years.at(date(year, 1, 1)).value
    except PolicyGapError:
        return 20


def _pilot_age(policy: RegionPolicy, year: int) -> int:
    if policy.pilot is None:
        return 14
    try:
        return policy.pilot.max_age.at(date(year, 1, 1)).value
    except PolicyGapError:
        return 14


def _write(
    uow: UnitOfWork,
    policy: RegionPolicy,
    places: list[Institution],
    items: list[CatalogueItem],
    people: list[_Person],
    year: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    conn = uow.connection
    uow.registry.add_region(policy.code, policy.name.zh, policy.name.en, policy.admdvs)
    _insert_all(
        conn,
        t.institutions,
        [
            {
                "id": i.id,
                "region": i.region,
                "name": i.name,
                "level": i.level,
                "kind": i.kind.value,
                "designated": i.designated,
                "pilot": i.pilot,
            }
            for i in places
        ],
    )
    uow.registry.add_catalogue_items(policy.code, items)

    total = len(people)
    done = 0
    start, end = date(year, 1, 1), date(year, 12, 31)
    for batch in (people[i : i + BATCH] for i in range(0, total, BATCH)):
        conn.execute(
            insert(t.persons),
            [
                {
                    "id": p.id,
                    "id_number": p.id_number,
                    "name": p.name,
                    "birth_date": p.birth_date,
                    "sex": p.sex,
                    "region": policy.code,
                    "phone": p.phone,
                    "assistance": p.assistance,
                    "retired": p.retired,
                    "contribution_years": p.contribution_years,
                }
                for p in batch
            ],
        )
        conn.execute(
            insert(t.enrolments),
            [
                {
                    "person_id": p.id,
                    "year": year,
                    "scheme": p.scheme.value,
                    "status": "active",
                    "valid_from": start,
                    "valid_to": end,
                    **_premium(policy, p, year),
                }
                for p in batch
            ],
        )
        conn.execute(
            insert(t.cards),
            [
                {
                    "number": p.card,
                    "person_id": p.id,
                    "status": p.card_status.value,
                    "issued_on": p.issued_on,
                    "replaced_by": None,
                }
                for p in batch
            ],
        )
        done += len(batch)
        if progress is not None:
            progress(done, total)

    _insert_all(
        conn,
        t.guardians,
        [{"child_id": p.id, "guardian_id": p.guardian.id} for p in people if p.guardian],
    )
    _insert_all(
        conn,
        t.approvals,
        [
            {
                "person_id": p.id,
                "disease": p.approval.disease,
                "hospital_id": p.approval.hospital,
                "valid_from": p.approval.valid_from,
                "valid_to": p.approval.valid_to,
                "status": "approved",
            }
            for p in people
            if p.approval is not None
        ],
    )
    _insert_all(
        conn,
        t.filings,
        [
            {
                "person_id": p.id,
                "region": p.filing.region,
                "valid_from": p.filing.valid_from,
                "valid_to": p.filing.valid_to,
            }
            for p in people
            if p.filing is not None
        ],
    )
