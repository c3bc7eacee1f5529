package demo

import "jiannuo/domain"

// item is one demo commitment. Offsets are days relative to today.
type item struct {
	cat          domain.Category
	title, text  string
	basis        string
	responsible  string
	startOffset  int
	dueOffset    int // calendar-date deadline, if workdays is 0
	workdays     int
	status       domain.Status
	amend        string // appended to the text by an amendment, if set
	breach       bool   // the county admin confirms a breach
	progressNote string
}

// items cover all fourteen public services of §五(七), the administrative
// commitments of §二(三) and the others, in every status, some overdue and
// some due within five working days.
var items = []item{
	{domain.CatEmployment, "辖区登记失业人员每季度推送岗位信息", "对辖区内登记失业人员，每季度至少推送一次不少于3个匹配岗位信息，并提供一次职业指导。",
		"《就业促进法》第五十二条", "刘洋（社会事务办）", -120, 40, 0, domain.StatusInProgress, "", false, "已向86名登记失业人员推送岗位信息"},
	{domain.CatProperty, "老旧小区物业服务投诉5个工作日内答复", "对老旧小区物业服务的投诉，受理后5个工作日内答复处理意见。",
		"《河南省物业管理条例》", "陈静（城建办）", -3, 0, 5, domain.StatusPublished, "", false, ""},
	{domain.CatSchooling, "随迁子女入学材料一次告知", "外来务工人员随迁子女入学所需材料一次性书面告知，材料齐全的当场出具证明。",
		"《义务教育法》第十二条", "孙丽（教育办）", -200, -20, 0, domain.StatusFulfilledOnTime, "", false, "已为42名随迁子女出具入学证明"},
	{domain.CatFamilyPlanning, "生育登记当日办结", "生育登记材料齐全的，当日办结；可通过网上办理。",
		"《河南省人口与计划生育条例》", "周敏（卫健办）", -150, -40, 0, domain.StatusFulfilledLate, "", false, "网上办理通道已开通"},
	{domain.CatElderlyCare, "80岁以上独居老人每月上门走访", "对辖区80岁以上独居老人每月至少上门走访一次，建立走访台账，发现困难及时帮扶。",
		"《河南省老年人权益保障条例》", "王建国（民政所）", -90, 3, 0, domain.StatusInProgress, "每两周电话问候一次。", false, "完成本月走访132户"},
	{domain.CatDisability, "残疾人两项补贴10个工作日内审核", "残疾人生活补贴和重度残疾人护理补贴申请，受理后10个工作日内完成审核。",
		"《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》", "赵刚（残联）", -30, 0, 10, domain.StatusInProgress, "", false, "已审核申请27件"},
	{domain.CatPovertyRelief, "脱贫户产业奖补资金按期发放", "对发展特色种养业的脱贫户，验收合格后30日内发放产业奖补资金。",
		"《栾川县产业扶贫奖补办法》", "高峰（乡村振兴办）", -100, -10, 0, domain.StatusPublished, "", true, "已完成验收，资金未发放"},
	{domain.CatMedicalInsurance, "城乡居民医保参保登记即时办理", "城乡居民基本医疗保险参保登记、信息变更即时办理。",
		"《社会保险法》", "吴倩（社保所）", -60, 25, 0, domain.StatusInProgress, "", false, "本季度办理参保登记318人次"},
	{domain.CatHousing, "农村危房改造年内完成", "对鉴定为C级、D级的农村危房，年内完成改造并组织验收。",
		"《农村危房改造基本安全技术导则》", "郑伟（城建办）", -240, -5, 0, domain.StatusPartlyFulfilled, "", false, "完成改造17户"},
	{domain.CatTransport, "村村通客车线路恢复运营", "因道路施工停运的两条村村通客车线路，在施工结束后7个工作日内恢复运营。",
		"《河南省道路运输条例》", "冯涛（交通站）", -25, 0, 7, domain.StatusInProgress, "", false, "一条线路已恢复"},
	{domain.CatParking, "镇区新增公共停车位200个", "在镇区规划建设公共停车位不少于200个，并公示收费标准。",
		"《栾川县城镇停车设施规划》", "陈静（城建办）", -180, -30, 0, domain.StatusInProgress, "", false, "已建成停车位120个"},
	{domain.CatFireTheft, "沿街商铺消防安全检查全覆盖", "每半年对沿街商铺开展一次消防安全检查，发现隐患限期整改并复查。",
		"《消防法》", "褚军（安监站）", -70, 2, 0, domain.StatusPublished, "", false, ""},
	{domain.CatMilitaryFamilies, "军属优待金春节前发放", "义务兵家庭优待金在春节前足额发放到位。",
		"《军人抚恤优待条例》", "卫红（退役军人服务站）", -300, -250, 0, domain.StatusFulfilledOnTime, "", false, "已足额发放"},
	{domain.CatConvenience, "便民服务中心午间不间断服务", "便民服务中心工作日中午安排专人值守，提供不间断服务。",
		"《洛阳市政务服务中心管理办法》", "蒋兰（便民服务中心）", -45, 60, 0, domain.StatusInProgress, "", false, "午间办件日均23件"},
	{domain.CatAdminQuality, "政务服务事项好评率不低于98%", "政务服务“好差评”好评率保持在98%以上，差评件100%回访整改。",
		"《国务院办公厅关于建立政务服务“好差评”制度的意见》", "蒋兰（便民服务中心）", -160, 20, 0, domain.StatusInProgress, "", false, "本月好评率99.2%"},
	{domain.CatAdminTimeLimit, "行政许可决定7个工作日内网上公开", "作出行政许可、行政处罚决定后7个工作日内在政府网站公开。",
		"洛阳市加强政务诚信建设实施方案 §二(二)", "沈洁（党政办）", -5, 0, 7, domain.StatusPublished, "", false, ""},
	{domain.CatAdminGuarantee, "企业开办一日办结保障", "企业开办材料齐全的，一个工作日内办结营业执照和公章刻制。",
		"《优化营商环境条例》", "韩冰（便民服务中心）", -80, -2, 0, domain.StatusInProgress, "", false, "已办结新开办企业14家"},
	{domain.CatPracticalDeeds, "为民办实事：改造农村公厕10座", "2026年为民办实事项目：改造提升农村公厕10座。",
		"镇人代会2026年为民办实事项目决议", "杨帆（乡村振兴办）", -210, 35, 0, domain.StatusInProgress, "", false, "已完工6座"},
	{domain.CatWorkTask, "年度政务诚信工作报告按时报送", "每年1月5日前报送上一年度政务诚信建设工作情况。",
		"洛阳市加强政务诚信建设实施方案 §六(三)", "沈洁（党政办）", -10, 41, 0, domain.StatusDraft, "", false, ""},
	{domain.CatInvestment, "签约项目用地手续协助办理", "对已签约的招商引资项目，协助在60日内完成用地预审手续。",
		"招商引资项目投资协议", "秦岭（招商办）", -90, -30, 0, domain.StatusFulfilledLate, "", false, "用地预审已批复"},
	{domain.CatPayment, "中小企业账款60日内支付", "镇政府采购中小企业货物、工程、服务的账款，自交付之日起60日内支付。",
		"《保障中小企业款项支付条例》", "许诺（财政所）", -50, 10, 0, domain.StatusPublished, "", false, ""},
	{domain.CatConvenience, "老年人代办服务上门办理", "行动不便老年人的社保认证、证明开具等事项提供上门代办。",
		"《河南省老年人权益保障条例》", "蒋兰（便民服务中心）", -20, 90, 0, domain.StatusWithdrawn, "", false, ""},
	{domain.CatElderlyCare, "日间照料中心年底前投入使用", "在镇区建成日间照料中心并于年底前投入使用。",
		"《栾川县养老服务体系建设规划》", "王建国（民政所）", -15, 36, 0, domain.StatusDraft, "", false, ""},
}
