package domain

import (
	"fmt"
	"slices"
)

// Category is the kind of a commitment. The first fourteen are the public
// services every street and township must publish commitments on (§五(七) of
// the Luoyang plan); the rest are the administrative and other commitments of
// §二(三) and §五.
type Category string

// The categories. Their string values are stored and signed: never rename one.
const (
	CatEmployment       Category = "employment"        // 就业
	CatProperty         Category = "property"          // 物业
	CatSchooling        Category = "schooling"         // 就学
	CatFamilyPlanning   Category = "family_planning"   // 计生
	CatElderlyCare      Category = "elderly_care"      // 养老
	CatDisability       Category = "disability"        // 助残
	CatPovertyRelief    Category = "poverty_relief"    // 扶贫
	CatMedicalInsurance Category = "medical_insurance" // 医保
	CatHousing          Category = "housing"           // 住房
	CatTransport        Category = "transport"         // 出行
	CatParking          Category = "parking"           // 停车
	CatFireTheft        Category = "fire_theft"        // 防火防盗
	CatMilitaryFamilies Category = "military_families" // 拥军优属
	CatConvenience      Category = "convenience"       // 便民服务
	CatAdminQuality     Category = "admin_quality"     // 服务质量承诺
	CatAdminTimeLimit   Category = "admin_time_limit"  // 办理期限承诺
	CatAdminGuarantee   Category = "admin_guarantee"   // 服务保障承诺
	CatPracticalDeeds   Category = "practical_deeds"   // 为民办实事
	CatWorkTask         Category = "work_task"         // 工作任务
	CatInvestment       Category = "investment"        // 招商引资承诺
	CatPayment          Category = "payment"           // 支付义务
)

var categories = []Category{
	CatEmployment, CatProperty, CatSchooling, CatFamilyPlanning, CatElderlyCare,
	CatDisability, CatPovertyRelief, CatMedicalInsurance, CatHousing, CatTransport,
	CatParking, CatFireTheft, CatMilitaryFamilies, CatConvenience,
	CatAdminQuality, CatAdminTimeLimit, CatAdminGuarantee, CatPracticalDeeds,
	CatWorkTask, CatInvestment, CatPayment,
}

// Categories returns every category in display order, the fourteen public
// services first. The slice is a copy.
func Categories() []Category { return slices.Clone(categories) }

// PublicServiceCategories returns the fourteen public services of §五(七).
func PublicServiceCategories() []Category { return slices.Clone(categories[:14]) }

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return slices.Contains(categories, c) }

// Status is where a commitment stands. Its string value is stored and signed.
type Status string

// The statuses of a commitment.
const (
	StatusDraft           Status = "draft"
	StatusPublished       Status = "published"
	StatusInProgress      Status = "in_progress"
	StatusFulfilledOnTime Status = "fulfilled_on_time"
	StatusFulfilledLate   Status = "fulfilled_late"
	StatusPartlyFulfilled Status = "partly_fulfilled"
	StatusBreached        Status = "breached"
	StatusWithdrawn       Status = "withdrawn"
)

var statuses = []Status{
	StatusDraft, StatusPublished, StatusInProgress, StatusFulfilledOnTime,
	StatusFulfilledLate, StatusPartlyFulfilled, StatusBreached, StatusWithdrawn,
}

// Statuses returns every status in lifecycle order.
func Statuses() []Status { return slices.Clone(statuses) }

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(statuses, s) }

// Terminal reports whether no further transition is possible from s.
func (s Status) Terminal() bool {
	return len(transitions[s]) == 0
}

// Open reports whether the commitment is still to be kept, so that its
// deadline matters: published or in progress.
func (s Status) Open() bool { return s == StatusPublished || s == StatusInProgress }

// Public reports whether a commitment in this status is visible to the public
// (when its public flag is set): everything but drafts.
func (s Status) Public() bool { return s != StatusDraft }

// Role is what a signed-in user may do.
type Role string

// The roles.
const (
	RoleStaff       Role = "staff"        // 工作人员: records and logs fulfilment
	RoleLeader      Role = "leader"       // 单位负责人: publishes, amends, withdraws, closes
	RoleCountyAdmin Role = "county_admin" // 县信用办: enrols devices, reconciles, confirms breaches
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleStaff || r == RoleLeader || r == RoleCountyAdmin
}

// rank orders roles so that a higher role may do what a lower one may.
func (r Role) rank() int {
	switch r {
	case RoleStaff:
		return 1
	case RoleLeader:
		return 2
	case RoleCountyAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r has every permission of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// transition describes one legal status change.
type transition struct {
	role   Role // the least role that may make it
	reason bool // a written reason is required
}

// transitions is the state machine. A commitment moves forward only; amending
// is not a status change (see Field and Amendable) and withdrawal needs a
// reason (the legal basis), as does recording a breach or partial fulfilment.
var transitions = map[Status]map[Status]transition{
	StatusDraft: {
		StatusPublished: {role: RoleLeader},
		StatusWithdrawn: {role: RoleLeader, reason: true},
	},
	StatusPublished: {
		StatusInProgress:      {role: RoleStaff},
		StatusFulfilledOnTime: {role: RoleLeader},
		StatusFulfilledLate:   {role: RoleLeader},
		StatusPartlyFulfilled: {role: RoleLeader, reason: true},
		StatusBreached:        {role: RoleCountyAdmin, reason: true},
		StatusWithdrawn:       {role: RoleLeader, reason: true},
	},
	StatusInProgress: {
		StatusFulfilledOnTime: {role: RoleLeader},
		StatusFulfilledLate:   {role: RoleLeader},
		StatusPartlyFulfilled: {role: RoleLeader, reason: true},
		StatusBreached:        {role: RoleCountyAdmin, reason: true},
		StatusWithdrawn:       {role: RoleLeader, reason: true},
	},
	StatusPartlyFulfilled: {
		StatusFulfilledLate: {role: RoleLeader},
		StatusBreached:      {role: RoleCountyAdmin, reason: true},
	},
}

// CheckTransition returns nil if a user with role may move a commitment from
// one status to another with the given reason, and otherwise an error
// wrapping ErrIllegalTransition, ErrNotAllowed or ErrReasonRequired.
func CheckTransition(from, to Status, role Role, reason string) error {
	t, ok := transitions[from][to]
	if !ok {
		return fmt.Errorf("%w: %s → %s", ErrIllegalTransition, from, to)
	}
	if !role.AtLeast(t.role) {
		return fmt.Errorf("%w: %s → %s needs role %s, not %q", ErrNotAllowed, from, to, t.role, role)
	}
	if t.reason && !nonBlank(reason) {
		return fmt.Errorf("%w: %s → %s", ErrReasonRequired, from, to)
	}
	return nil
}

// LegalTransition reports whether from → to is in the state machine at all,
// whoever makes it. Replicas use it on operations from other devices, whose
// author's role was checked where the operation was made.
func LegalTransition(from, to Status) bool {
	_, ok := transitions[from][to]
	return ok
}

// NextStatuses lists the statuses reachable from s by a user with role, in
// lifecycle order, for menus.
func NextStatuses(s Status, role Role) []Status {
	var out []Status
	for _, to := range statuses {
		if t, ok := transitions[s][to]; ok && role.AtLeast(t.role) {
			out = append(out, to)
		}
	}
	return out
}

// Field names the editable parts of a commitment. Each is a register with its
// own version history, so concurrent edits are detected field by field.
type Field string

// The fields. Their string values are stored and signed: never rename one.
const (
	FieldCategory    Field = "category"
	FieldTitle       Field = "title"
	FieldText        Field = "text"
	FieldLegalBasis  Field = "legal_basis"
	FieldResponsible Field = "responsible"
	FieldStartDate   Field = "start_date"
	FieldDeadline    Field = "deadline"
	FieldPublic      Field = "public"
	FieldStatus      Field = "status"
)

var fields = []Field{
	FieldCategory, FieldTitle, FieldText, FieldLegalBasis, FieldResponsible,
	FieldStartDate, FieldDeadline, FieldPublic, FieldStatus,
}

// Fields returns every field in display order.
func Fields() []Field { return slices.Clone(fields) }

// NumFields is len(Fields()), without the copy.
func NumFields() int { return len(fields) }

// FieldIndex returns f's place in Fields (the canonical order of a
// change set's writes), or -1 for an unknown field. The verification of
// every received operation asks it, so it copies nothing.
func FieldIndex(f Field) int { return slices.Index(fields, f) }

// Valid reports whether f is a known field.
func (f Field) Valid() bool { return slices.Contains(fields, f) }

// Content reports whether f is part of the commitment's promise itself, which
// after publication changes only through a visible amendment (§五(四)).
// Status is not content: it changes through transitions.
func (f Field) Content() bool { return f.Valid() && f != FieldStatus }

// Editable reports whether a commitment in status s may have its content
// edited in place (drafts only) or must be amended with a reason.
func Editable(s Status) bool { return s == StatusDraft }

// Amendable reports whether a commitment in status s may be amended: once
// published and until it is closed.
func Amendable(s Status) bool {
	return s == StatusPublished || s == StatusInProgress || s == StatusPartlyFulfilled
}

// Limits on text fields, in bytes of UTF-8. They keep one operation well under
// the change-set size limit and keep a hostile device from filling a server.
const (
	MaxTitleBytes = 512
	MaxTextBytes  = 64 << 10
	MaxShortBytes = 1024 // legal basis, responsible official, reasons, notes' headings
	MaxNoteBytes  = 16 << 10
)

// ValidateValue checks a field value as it would be stored (the string form
// every replica keeps). It is used for both local edits and remote operations.
func ValidateValue(f Field, v string) error {
	switch f {
	case FieldCategory:
		if !Category(v).Valid() {
			return fmt.Errorf("%w: unknown category %q", ErrInvalidValue, v)
		}
	case FieldTitle:
		if !nonBlank(v) {
			return fmt.Errorf("%w: title is empty", ErrInvalidValue)
		}
		return checkText(f, v, MaxTitleBytes)
	case FieldText:
		if !nonBlank(v) {
			return fmt.Errorf("%w: text is empty", ErrInvalidValue)
		}
		return checkText(f, v, MaxTextBytes)
	case FieldLegalBasis:
		return checkText(f, v, MaxShortBytes)
	case FieldResponsible:
		if !nonBlank(v) {
			return fmt.Errorf("%w: responsible official is empty", ErrInvalidValue)
		}
		return checkText(f, v, MaxShortBytes)
	case FieldStartDate:
		if v == "" {
			return nil
		}
		if _, err := parseDate(v); err != nil {
			return fmt.Errorf("%w: start date: %v", ErrInvalidValue, err)
		}
	case FieldDeadline:
		if _, err := ParseDeadline(v); err != nil {
			return err
		}
	case FieldPublic:
		if v != "true" && v != "false" {
			return fmt.Errorf("%w: public must be true or false, not %q", ErrInvalidValue, v)
		}
	case FieldStatus:
		if !Status(v).Valid() {
			return fmt.Errorf("%w: unknown status %q", ErrInvalidValue, v)
		}
	default:
		return fmt.Errorf("%w: unknown field %q", ErrInvalidValue, f)
	}
	return nil
}
