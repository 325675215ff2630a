"""The national interface's code lists, as yibao maps them, and the Chinese names of the
fields that error messages name."""

from __future__ import annotations

from datetime import date

from yibao.domain.model import Kind, Scheme

# insutype: yibao's schemes. Students are insured in the urban-rural residents' scheme.
INSUTYPE = {Scheme.EMPLOYEE: "310", Scheme.RESIDENT: "390", Scheme.STUDENT: "390"}
INSUTYPE_NAME = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}

# med_type ↔ encounter kind. Regions add sub-codes ("1101"): the first two digits decide.
OUTPATIENT_MED_TYPES = {
    "11": Kind.OUTPATIENT,
    "13": Kind.EMERGENCY,
    "14": Kind.SPECIAL_OUTPATIENT,
    "41": Kind.PHARMACY,
}
INPATIENT_MED_TYPES = {"21": Kind.INPATIENT, "23": Kind.INPATIENT, "25": Kind.INPATIENT}
MED_TYPE_OF_KIND = {
    Kind.OUTPATIENT: "11",
    Kind.EMERGENCY: "13",
    Kind.SPECIAL_OUTPATIENT: "14",
    Kind.PHARMACY: "41",
    Kind.INPATIENT: "21",
}

# matn_type (生育类别) → a childbirth stay's delivery, as yibao reads the code list; regions
# whose dictionary differs map their codes here. Another code is -1 naming matn_type.
MATN_TYPE = {"1": ("natural", "顺产"), "2": ("caesarean", "剖宫产")}

# mdtrt_cert_type
VOUCHER, ID_CARD, SOCIAL_CARD = "01", "02", "03"
CERT_TYPES = {VOUCHER: "医保电子凭证", ID_CARD: "居民身份证", SOCIAL_CARD: "社会保障卡"}

# Catalogue class → chrgitm_lv (收费项目等级: 01 甲类, 02 乙类, 03 自费)
CHRGITM_LV = {"A": "01", "B": "02", "self_pay": "03"}

# Funds in setldetail
FUND_BASIC = {
    "310": ("310100", "职工基本医疗保险统筹基金"),
    "390": ("390100", "城乡居民基本医疗保险基金"),
}
FUND_ASSISTANCE = ("610100", "医疗救助基金")

# psn_idet_type for a family in medical assistance (an open list: regions have their own).
ASSISTANCE_IDET_TYPE = "2301"
# psn_idet_type of a person's category (docs/policies.md): yibao's codes, beside 2301
# (regions have their own lists), and the words a clerk reads.
CATEGORY_IDET_TYPE = {
    "low_income": ("2302", "低保对象"),
    "special_hardship": ("2303", "特困人员"),
    "poverty_registered": ("2304", "建档立卡贫困人口"),
}


def psn_type(scheme: Scheme, birth: date, day: date, retired: bool) -> str:
    """psn_type (人员类别), an open list: 1101 employee in service, 1201 retired, 1401
    newborn, 1402 preschool child, 1403 school pupil, 1404 college student, 1405 minor
    not in school, 1499 adult resident."""
    if scheme is Scheme.EMPLOYEE:
        return "1201" if retired else "1101"
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    if scheme is Scheme.STUDENT:
        return "1403" if age < 18 else "1404"
    if age < 1:
        return "1401"
    if age < 7:
        return "1402"
    if age < 18:
        return "1405"
    return "1499"


def med_type_kind(code: str, table: dict[str, Kind]) -> Kind | None:
    return table.get(code[:2]) if len(code) >= 2 and code.isdigit() else None


# Field names in Chinese, for error messages ("缺少必填字段 input.data.psn_no（人员编号）").
LABELS = {
    "infno": "交易编号",
    "msgid": "发送方报文ID",
    "mdtrtarea_admvs": "就医地医保区划",
    "insuplc_admdvs": "参保地医保区划",
    "opter_type": "经办人类别",
    "opter": "经办人",
    "opter_name": "经办人姓名",
    "inf_time": "交易时间",
    "fixmedins_code": "定点医药机构编号",
    "fixmedins_name": "定点医药机构名称",
    "sign_no": "交易签到流水号",
    "input": "交易输入",
    "signIn": "签到信息",
    "signOut": "签退信息",
    "opter_no": "操作员编号",
    "mac": "签到MAC地址",
    "ip": "签到IP地址",
    "data": "输入数据",
    "mdtrt_cert_type": "就诊凭证类型",
    "mdtrt_cert_no": "就诊凭证编号",
    "begntime": "开始时间",
    "endtime": "结束时间",
    "psn_no": "人员编号",
    "insutype": "险种类型",
    "ipt_otp_no": "住院/门诊号",
    "ipt_no": "住院号",
    "atddr_no": "医师编码",
    "dr_name": "医师姓名",
    "dept_code": "科室编码",
    "dept_name": "科室名称",
    "caty": "科别",
    "mdtrt_id": "就诊ID",
    "mdtrtinfo": "就诊信息",
    "dscginfo": "出院信息",
    "diseinfo": "诊断信息",
    "med_type": "医疗类别",
    "dise_codg": "病种编码",
    "dise_name": "病种名称",
    "diag_type": "诊断类别",
    "diag_srt_no": "诊断排序号",
    "diag_code": "诊断代码",
    "diag_name": "诊断名称",
    "vali_flag": "有效标志",
    "feedetail": "费用明细",
    "feedetl_sn": "费用明细流水号",
    "init_feedetl_sn": "原费用流水号",
    "chrg_bchno": "收费批次号",
    "rxno": "处方号",
    "fee_ocur_time": "费用发生时间",
    "med_list_codg": "医疗目录编码",
    "medins_list_codg": "医药机构目录编码",
    "det_item_fee_sumamt": "明细项目费用总额",
    "cnt": "数量",
    "pric": "单价",
    "medfee_sumamt": "医疗费总额",
    "psn_setlway": "个人结算方式",
    "acct_used_flag": "个人账户使用标志",
    "mid_setl_flag": "中途结算标志",
    "setl_id": "结算ID",
    "adm_dept_codg": "入院科室编码",
    "adm_dept_name": "入院科室名称",
    "atddr_name": "主治医生姓名",
    "dscg_way": "离院方式",
    "omsgid": "原发送方报文ID",
    "oinfno": "原交易编号",
    "stmt_begndate": "对账开始日期",
    "stmt_enddate": "对账结束日期",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支出",
    "cash_payamt": "现金支付金额",
    "fixmedins_setl_cnt": "定点医药机构结算笔数",
    "clr_type": "清算类别",
    "setl_optins": "结算经办机构",
    "file_qury_no": "文件查询号",
    "filename": "文件名",
    "fsUploadIn": "文件上传信息",
    "fsDownloadIn": "文件下载信息",
    "in": "文件内容",
    "fixmedins_hilist_id": "定点医药机构目录编号",
    "trum_flag": "外伤标志",
    "rel_ttp_flag": "涉及第三方标志",
    "matn_type": "生育类别",
    "refmedin": "转院备案信息",
    "reflin_medins_no": "转往定点医药机构编号",
    "reflin_medins_name": "转往医院名称",
    "mdtrtarea_admdvs": "就医地行政区划",
    "refl_date": "转院日期",
    "refl_type": "转院类型",
    "fixmedins_hilist_name": "定点医药机构目录名称",
    "list_type": "目录类别",
    "begndate": "开始日期",
    "enddate": "结束日期",
    "hilist_code": "医保目录编码",
    "hilist_name": "医保目录名称",
    "insu_admdvs": "参保机构医保区划",
    "query_date": "查询时间点",
    "updt_time": "更新时间",
    "page_num": "当前页数",
    "page_size": "本页数据量",
}


def label(path: str) -> str:
    """`input.data.psn_no` → `input.data.psn_no（人员编号）`."""
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    zh = LABELS.get(name)
    return f"{path}（{zh}）" if zh else path
