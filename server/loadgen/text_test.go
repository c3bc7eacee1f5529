package loadgen

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestHanziIsGB2312LevelOne: the embedded character list is exactly the
// level-1 hanzi of GB 2312 (rows 16–55, codes B0A1–D7F9), in the
// standard's order, as the standard's decoder gives them.
func TestHanziIsGB2312LevelOne(t *testing.T) {
	dec := simplifiedchinese.GBK.NewDecoder()
	var want []rune
	for hi := 0xB0; hi <= 0xD7; hi++ {
		for lo := 0xA1; lo <= 0xFE && !(hi == 0xD7 && lo > 0xF9); lo++ {
			s, err := dec.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, []rune(string(s))...)
		}
	}
	got := Hanzi()
	if len(got) != 3755 || string(got) != string(want) {
		t.Fatalf("%d characters, want the %d of GB 2312 level 1", len(got), len(want))
	}
	seen := map[rune]bool{}
	for _, r := range got {
		if seen[r] {
			t.Fatalf("%c twice", r)
		}
		seen[r] = true
	}
}

// sample is one of each kind of text.
func sample(g *Text) []string {
	return []string{g.Title(), g.Commitment(), g.Note(), g.Name()}
}

// TestTextDeterministic: a generator's output is a function of its seed.
func TestTextDeterministic(t *testing.T) {
	a, b, c := NewText(42), NewText(42), NewText(43)
	differs := false
	for range 200 {
		sa, sb, sc := sample(a), sample(b), sample(c)
		for k := range sa {
			if sa[k] != sb[k] {
				t.Fatalf("same seed, different text: %q / %q", sa[k], sb[k])
			}
			if sa[k] != sc[k] {
				differs = true
			}
		}
	}
	if !differs {
		t.Fatal("seeds 42 and 43 generate the same texts")
	}
	// Building the loadgen's texts twice from one seed gives the same
	// operations' strings, in either mode.
	for _, m := range []TextMode{TextHanzi, TextClauses} {
		x, y := newTexts(m, deviceSeed(7, 3)), newTexts(m, deviceSeed(7, 3))
		for n := range 50 {
			if x.commitment("标题", n) != y.commitment("标题", n) || x.note(n) != y.note(n) || x.responsible(n) != y.responsible(n) {
				t.Fatalf("%s: the same seed gave different texts", m)
			}
		}
	}
}

// TestTextAlphabet: generated text uses only level-1 hanzi, the listed
// punctuation and digits; names only hanzi, titles no punctuation; and it
// uses the character set broadly, not a few hundred characters.
func TestTextAlphabet(t *testing.T) {
	hanzi := map[rune]bool{}
	for _, r := range Hanzi() {
		hanzi[r] = true
	}
	g := NewText(1)
	used := map[rune]int{}
	total := 0
	for range 800 {
		for k, s := range sample(g) {
			for _, r := range s {
				if !TextAlphabet(r) {
					t.Fatalf("%q (%U) in %q", r, r, s)
				}
				if k == 3 && !hanzi[r] {
					t.Fatalf("name %q has %q", s, r)
				}
				if k == 0 && strings.ContainsRune(textPunctuation, r) {
					t.Fatalf("title %q has punctuation", s)
				}
				if hanzi[r] {
					used[r]++
					total++
				}
			}
		}
	}
	if len(used) < 3000 {
		t.Fatalf("%d distinct hanzi in %d: the texts should draw on most of the 3,755", len(used), total)
	}
	// The most frequent character is a few per cent of the text, as 的
	// is of real Chinese, not a quarter.
	top := 0
	for _, n := range used {
		top = max(top, n)
	}
	if share := float64(top) / float64(total); share < 0.005 || share > 0.08 {
		t.Fatalf("the most frequent character is %.1f%% of the hanzi", 100*share)
	}
	for _, r := range "，。0123456789" {
		if !TextAlphabet(r) {
			t.Fatalf("%q not in the alphabet", r)
		}
	}
	for _, r := range "a,.!?　的" { // 的 is level 1; the others are not ours
		if TextAlphabet(r) != (r == '的') {
			t.Fatalf("TextAlphabet(%q) = %v", r, TextAlphabet(r))
		}
	}
}

// TestTextLengths: every length lies within its documented range, the
// means are the documented ones (within 3%), both ends of each range are
// reached, and names are 2, 3 or 4 characters in the documented shares.
func TestTextLengths(t *testing.T) {
	g := NewText(2)
	const n = 5000
	for _, c := range []struct {
		name     string
		gen      func() string
		min, max int
		mean     float64
	}{
		{"title", g.Title, TitleMin, TitleMax, 19},
		{"commitment", g.Commitment, CommitmentMin, CommitmentMax, 220},
		{"note", g.Note, NoteMin, NoteMax, 105},
	} {
		lo, hi, sum := c.max, c.min, 0
		for range n {
			s := c.gen()
			l := utf8.RuneCountInString(s)
			if l < c.min || l > c.max {
				t.Fatalf("%s of %d characters, want %d–%d: %q", c.name, l, c.min, c.max, s)
			}
			if c.name != "title" && !strings.HasSuffix(s, "。") {
				t.Fatalf("%s does not end a sentence: %q", c.name, s)
			}
			lo, hi, sum = min(lo, l), max(hi, l), sum+l
		}
		mean := float64(sum) / n
		if mean < 0.97*c.mean || mean > 1.03*c.mean {
			t.Errorf("%s: mean length %.1f, documented %.0f", c.name, mean, c.mean)
		}
		reach := (c.max - c.min) / 10
		if lo > c.min+reach || hi < c.max-reach {
			t.Errorf("%s: lengths %d–%d never come near the ends of %d–%d", c.name, lo, hi, c.min, c.max)
		}
	}
	count := map[int]int{}
	for range n {
		l := utf8.RuneCountInString(g.Name())
		if l < NameMin || l > NameMax {
			t.Fatalf("name of %d characters", l)
		}
		count[l]++
	}
	for l, share := range map[int]float64{2: 0.20, 3: 0.75, 4: 0.05} {
		if got := float64(count[l]) / n; got < share-0.02 || got > share+0.02 {
			t.Errorf("%.1f%% of names have %d characters, documented %.0f%%", 100*got, l, 100*share)
		}
	}
}

// deflated returns the size of s deflated at level over its size.
func deflated(t *testing.T, s string, level int) float64 {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(s))
	w.Close()
	return float64(b.Len()) / float64(len(s))
}

// changeSetTexts returns the strings of one change set of 100 operations
// as buildChain writes them (20 creates with their title, text and
// responsible, 60 fulfilment notes), concatenated: what permessage-deflate
// sees of a push, without the binary fields.
func changeSetTexts(tx texts) string {
	var b strings.Builder
	for i := range 100 {
		switch i % 5 {
		case 0:
			b.WriteString(tx.title("零就业家庭动态清零帮扶", i))
			b.WriteString(tx.commitment("零就业家庭动态清零帮扶", i))
			b.WriteString(tx.responsible(i))
		case 1:
		default:
			b.WriteString(tx.note(i))
		}
	}
	return b.String()
}

// The compression bounds generated text keeps. Real Chinese prose deflates
// to about 0.45–0.5 of its UTF-8 bytes in blocks of tens of kilobytes;
// generated text must do no better, so that wire figures do not flatter.
const (
	// minBatchRatio: a change set's texts (about 37 KB) keep at least half
	// their bytes at deflate level 1 (what the websocket uses) and at the
	// best level (9). Measured: 0.58 and 0.55.
	minBatchRatio = 0.50
	// minTextRatio: a commitment text of 100 characters or more, alone,
	// keeps at least 0.65 of its bytes. Measured: about 0.8.
	minTextRatio = 0.65
)

// TestTextIncompressible: generated text deflates no better than the
// bounds above, over 8 seeds; the clauses of TextClauses, for
// comparison, deflate to less than half of what the generated text does.
func TestTextIncompressible(t *testing.T) {
	worst1, worst9, worstText := 1.0, 1.0, 1.0
	for seed := range uint64(8) {
		batch := changeSetTexts(newTexts(TextHanzi, deviceSeed(seed, 0)))
		r1, r9 := deflated(t, batch, 1), deflated(t, batch, 9)
		worst1, worst9 = min(worst1, r1), min(worst9, r9)
		if r1 < minBatchRatio || r9 < minBatchRatio {
			t.Errorf("seed %d: a change set's generated texts deflate to %.3f (level 1) and %.3f (level 9), bound %.2f", seed, r1, r9, minBatchRatio)
		}
		clauses := changeSetTexts(newTexts(TextClauses, deviceSeed(seed, 0)))
		if rc := deflated(t, clauses, 1); rc > r1/2 {
			t.Errorf("seed %d: the clauses deflate to %.3f, the generated text to %.3f: expected far better for the clauses", seed, rc, r1)
		}
		g := NewText(seed)
		for range 50 {
			s := g.Commitment()
			if utf8.RuneCountInString(s) < 100 {
				continue
			}
			r := deflated(t, s, 1)
			worstText = min(worstText, r)
			if r < minTextRatio {
				t.Errorf("seed %d: a commitment text deflates to %.3f, bound %.2f: %q", seed, r, minTextRatio, s)
			}
		}
	}
	t.Logf("worst of 8 seeds: change set %.3f (level 1), %.3f (level 9); one text %.3f", worst1, worst9, worstText)
}

// TestParseTextMode: the command line's names round-trip.
func TestParseTextMode(t *testing.T) {
	for _, m := range []TextMode{TextHanzi, TextClauses} {
		got, err := ParseTextMode(m.String())
		if err != nil || got != m {
			t.Fatalf("%s: %v %v", m, got, err)
		}
	}
	if _, err := ParseTextMode("lorem"); err == nil {
		t.Fatal("an unknown mode parsed")
	}
	if (&Config{URL: "https://127.0.0.1:1", Fingerprint: "x", Text: TextClauses + 1}).fill() == nil {
		t.Fatal("an unknown mode in Config was accepted")
	}
}
