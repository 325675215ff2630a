"""The demo's catalogue: a few hundred drugs, treatment items, facility standards and
self-pay items in the national code layout, the same for every seed. A neighbouring
region's demo catalogue is the same items at its own (lower) fixed prices, so that a bill
there is capped and priced by that region's catalogue (reference §9)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from yibao.domain.model import LineClass
from yibao.domain.registry import CatalogueItem

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


def catalogue_at(scale: Decimal) -> list[CatalogueItem]:
    """The demo catalogue with every fixed price times `scale`, half up to the fen (a
    county's prices below a city's)."""
    return [
        CatalogueItem(
            i.code,
            i.name,
            i.cls,
            None
            if i.unit_price is None
            else (i.unit_price * scale).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
        for i in catalogue()
    ]
