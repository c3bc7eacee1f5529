package cluster

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"jiannuo/domain/office"
)

// Role is what a member is.
type Role string

// The roles.
const (
	RoleCounty    Role = "county"    // a county aggregation server (县级汇聚)
	RoleMunicipal Role = "municipal" // a municipal platform node (市信用信息综合平台)
)

// Tag keys, part of what members of different versions must agree on.
const (
	tagRole        = "role"
	tagCounty      = "county"
	tagUpstream    = "upstream"
	tagHead        = "head"
	tagFingerprint = "fp"
)

// Tags is what a member advertises.
type Tags struct {
	Role Role
	// County is the county code a county server serves.
	County office.Code
	// Upstream is the county server's upstream feed,
	// wss://host:port/upstream.
	Upstream string
	// Head is the last position of the county's feed.
	Head uint64
	// Fingerprint is the county server's TLS certificate fingerprint
	// (protocol.Fingerprint), which a municipal node pins when it
	// connects. It secures the channel only: what the node accepts is
	// checked against the county key in its trust file.
	Fingerprint string
}

// Map returns the tags as serf carries them.
func (t Tags) Map() map[string]string {
	m := map[string]string{tagRole: string(t.Role)}
	if t.Role == RoleCounty {
		m[tagCounty] = string(t.County)
		m[tagUpstream] = t.Upstream
		m[tagHead] = strconv.FormatUint(t.Head, 10)
		m[tagFingerprint] = t.Fingerprint
	}
	return m
}

// ErrBadTags means a member's tags do not describe a member of this
// system: another serf cluster on the same port, or a misconfigured server.
var ErrBadTags = errors.New("bad cluster tags")

// ParseTags reads the tags of another member. Errors wrap ErrBadTags.
func ParseTags(m map[string]string) (Tags, error) {
	t := Tags{Role: Role(m[tagRole])}
	switch t.Role {
	case RoleMunicipal:
		return t, nil
	case RoleCounty:
	default:
		return t, fmt.Errorf("%w: role %q", ErrBadTags, m[tagRole])
	}
	t.County = office.Code(m[tagCounty])
	if t.County.Level() != office.County {
		return t, fmt.Errorf("%w: county %q", ErrBadTags, m[tagCounty])
	}
	t.Upstream = m[tagUpstream]
	if !strings.HasPrefix(t.Upstream, "wss://") && !strings.HasPrefix(t.Upstream, "ws://") {
		return t, fmt.Errorf("%w: upstream address %q", ErrBadTags, t.Upstream)
	}
	h, err := strconv.ParseUint(m[tagHead], 10, 64)
	if err != nil {
		return t, fmt.Errorf("%w: head %q", ErrBadTags, m[tagHead])
	}
	t.Head = h
	t.Fingerprint = m[tagFingerprint]
	if len(t.Fingerprint) != 95 {
		return t, fmt.Errorf("%w: fingerprint %q", ErrBadTags, t.Fingerprint)
	}
	return t, nil
}

// AdvanceEvent is the name of the user event a county server fires when its
// feed advances or it records a revocation.
const AdvanceEvent = "advance"

// AdvancePayload is the payload of an advance event: the county code, the
// head and a tag unique to this announcement ("410324 1234 9f1c02ab.7").
// Serf drops a user event whose name, payload and Lamport time it has seen,
// and a restarted server's event clock starts again from zero, so without
// the tag its first announcements could repeat earlier ones and be lost.
func AdvancePayload(county office.Code, head uint64, tag string) []byte {
	p := string(county) + " " + strconv.FormatUint(head, 10)
	if tag != "" {
		p += " " + tag
	}
	return []byte(p)
}

// ParseAdvance reads an advance event's payload. Errors wrap ErrBadTags.
func ParseAdvance(payload []byte) (office.Code, uint64, error) {
	f := strings.Fields(string(payload))
	if len(f) < 2 || len(f) > 3 {
		return "", 0, fmt.Errorf("%w: advance payload %q", ErrBadTags, payload)
	}
	head, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil || office.Code(f[0]).Level() != office.County {
		return "", 0, fmt.Errorf("%w: advance payload %q", ErrBadTags, payload)
	}
	return office.Code(f[0]), head, nil
}
