package vm

import (
	"strings"
	"testing"
)

// FuzzMatcher checks the rarest-byte matcher against strings.Contains.
func FuzzMatcher(f *testing.F) {
	for _, seed := range [][2]string{
		{"80岁以上独居老人每月上门走访", "老人"},
		{"老人", "老人"},
		{"老", "老人"},
		{"人老人", "老人"},
		{"第4242号第4243号", "第4243号"},
		{"abc", ""},
		{"", "a"},
		{"pm2.5 监测", "pm2.5"},
		{"\xe8\x80\x81\xe8", "\x81\xe8"},
	} {
		f.Add(seed[0], seed[1])
	}
	freq := sampleBytes([]string{"对辖区内符合条件的群众，受理后按期办结并书面告知结果。第123号"})
	f.Fuzz(func(t *testing.T, s, needle string) {
		want := strings.Contains(s, needle)
		for _, fr := range [](*[256]uint32){nil, freq} {
			m := newMatcher(needle, fr)
			if got := m.in(s); got != want {
				t.Fatalf("matcher(%q).in(%q) = %v, strings.Contains says %v", needle, s, got, want)
			}
		}
	})
}
