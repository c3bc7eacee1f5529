package loadgen

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// TextMode says what text the simulated devices write into commitments and
// fulfilment notes.
type TextMode uint8

const (
	// TextHanzi (the default) is generated Chinese text (NewText): word-like
	// runs over the 3,755 level-1 hanzi of GB2312 with punctuation and
	// digits, at the lengths of real commitments and notes. It compresses
	// no better than real prose does, so wire and disk figures measured
	// with it do not flatter.
	TextHanzi TextMode = iota
	// TextClauses is what the load generator wrote before: texts drawn
	// from a few dozen fixed clauses. A change set of them compresses
	// about twice as well as one of real text; kept to compare with
	// figures measured with it.
	TextClauses
)

// String returns the mode's name as the command line takes it.
func (m TextMode) String() string {
	switch m {
	case TextHanzi:
		return "hanzi"
	case TextClauses:
		return "clauses"
	}
	return "TextMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseTextMode parses "hanzi" or "clauses".
func ParseTextMode(s string) (TextMode, error) {
	for _, m := range []TextMode{TextHanzi, TextClauses} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("loadgen: text mode %q: want hanzi or clauses", s)
}

// The lengths of generated texts, in characters (runes). Each is a
// minimum plus a sum of independent uniform draws, so lengths spread over
// the whole range with most near the middle, as real texts do.
const (
	// Titles: 8 + U[0,11] + U[0,11], 8–30 characters, mean 19.
	TitleMin, TitleMax = 8, 30
	// Commitment texts: 40 + 3 × U[0,120], 40–400 characters, mean 220.
	CommitmentMin, CommitmentMax = 40, 400
	// Fulfilment notes: 10 + 2 × U[0,95], 10–200 characters, mean 105.
	NoteMin, NoteMax = 10, 200
	// Personal names: 2 characters (20%), 3 (75%) or 4 (5%, a compound
	// surname).
	NameMin, NameMax = 2, 4
)

// Punctuation and digits generated text uses besides the hanzi.
const (
	textPunctuation = "，。、；：（）“”《》"
	textDigits      = "0123456789"
)

//go:embed gb2312-level1.txt
var level1 string

// Hanzi returns the characters generated text draws from: the 3,755
// level-1 hanzi of GB2312 (一级汉字, GB 2312-1980 rows 16–55, the most
// frequent characters of modern Chinese), in the standard's order
// (gb2312-level1.txt; a test checks it against the standard's decoder).
func Hanzi() []rune { return []rune(level1) }

// TextAlphabet reports whether r may appear in generated text: a level-1
// hanzi, one of the punctuation marks ，。、；：（）“”《》 or an ASCII digit.
func TextAlphabet(r rune) bool {
	_, ok := alphabet()[r]
	return ok
}

var alphabet = sync.OnceValue(func() map[rune]struct{} {
	m := map[rune]struct{}{}
	for _, r := range level1 + textPunctuation + textDigits {
		m[r] = struct{}{}
	}
	return m
})

// The lexicon every generator shares, as writers of one language share
// their words. Built once from a fixed seed.
//
//   - The 3,755 characters are ranked by a fixed shuffle of the standard's
//     (pinyin) order, and a character is drawn by a Zipf law over ranks
//     (P(k) ∝ (k+20)^-1.2), so a few hundred characters make up most of a
//     text, as in real Chinese, while every one of the 3,755 occurs.
//   - 12,000 words of 1 (25%), 2 (55%), 3 (12%) or 4 (8%) characters so
//     drawn; a text draws its words by a Zipf law over the lexicon
//     (P(k) ∝ (k+30)^-1.1), and one word in six is new, made of characters
//     drawn on the spot (names, places, the rare words every text has).
//   - Words form clauses of 2–7 words; one word in 25 is a number (1–4
//     digits, often followed by 年, 月, 日, 户, 人, 件, 次 or 万元);
//     clauses are joined by ， (mostly), ； or 、 into sentences of 1–3
//     clauses ending in 。; one sentence in eight quotes a document as
//     《…》 or a phrase as “…”, and one in ten adds a remark in （…）.
//
// These parameters were tuned so that deflate does no better on the text
// than on real Chinese prose (see the package tests for the bounds).
const (
	lexWords      = 12000
	charZipfS     = 1.2
	charZipfV     = 20
	wordZipfS     = 1.1
	wordZipfV     = 30
	newWordOneIn  = 6
	numberOneIn   = 25
	quoteOneIn    = 8
	remarkOneIn   = 10
	lexiconSeed   = 0x6a69616e6e756f // "jiannuo"
	lexiconStream = 15
)

type lexicon struct {
	chars []rune   // by rank
	words []string // by rank
}

var (
	lexOnce sync.Once
	lex     *lexicon
)

func sharedLexicon() *lexicon {
	lexOnce.Do(func() {
		rng := rand.New(rand.NewPCG(lexiconSeed, lexiconStream))
		chars := Hanzi()
		rng.Shuffle(len(chars), func(i, j int) { chars[i], chars[j] = chars[j], chars[i] })
		l := &lexicon{chars: chars}
		cz := rand.NewZipf(rng, charZipfS, charZipfV, uint64(len(chars)-1))
		seen := map[string]bool{}
		for len(l.words) < lexWords {
			w := l.word(rng, cz)
			if !seen[w] {
				seen[w] = true
				l.words = append(l.words, w)
			}
		}
		lex = l
	})
	return lex
}

// word makes a word of 1–4 characters drawn with cz.
func (l *lexicon) word(rng *rand.Rand, cz *rand.Zipf) string {
	n := 1
	switch p := rng.IntN(100); {
	case p < 25:
	case p < 80:
		n = 2
	case p < 92:
		n = 3
	default:
		n = 4
	}
	var b strings.Builder
	for range n {
		b.WriteRune(l.chars[cz.Uint64()])
	}
	return b.String()
}

// Text generates Chinese text for commitments, fulfilment notes and
// names: deterministic from its seed, over the characters TextAlphabet
// accepts, with the lengths documented at TitleMin and after. A Text is
// not safe for concurrent use.
type Text struct {
	lex   *lexicon
	rng   *rand.Rand
	chars *rand.Zipf
	words *rand.Zipf
	b     strings.Builder
	n     int // runes in b
}

// NewText returns a generator whose output is a function of seed alone.
func NewText(seed uint64) *Text {
	l := sharedLexicon()
	rng := rand.New(rand.NewPCG(seed, 0x7465787473)) // "texts"
	return &Text{lex: l, rng: rng,
		chars: rand.NewZipf(rng, charZipfS, charZipfV, uint64(len(l.chars)-1)),
		words: rand.NewZipf(rng, wordZipfS, wordZipfV, uint64(len(l.words)-1))}
}

// Title returns a title: words without punctuation, 8–30 characters.
func (t *Text) Title() string {
	return t.Words(TitleMin + t.rng.IntN(12) + t.rng.IntN(12))
}

// Commitment returns the text of a commitment: sentences, 40–400
// characters, ending in 。.
func (t *Text) Commitment() string {
	return t.prose(CommitmentMin + t.rng.IntN(121) + t.rng.IntN(121) + t.rng.IntN(121))
}

// Note returns a fulfilment note: sentences, 10–200 characters, ending in
// 。.
func (t *Text) Note() string {
	return t.prose(NoteMin + t.rng.IntN(96) + t.rng.IntN(96))
}

// surnames are common single surnames (all level-1 hanzi), and compound
// ones for four-character names.
var (
	surnames         = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤")
	compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙"}
)

// Name returns a personal name of 2–4 characters: a surname and one or
// two given characters.
func (t *Text) Name() string {
	var b strings.Builder
	given := 2
	switch p := t.rng.IntN(100); {
	case p < 20:
		given = 1
		fallthrough
	case p < 95:
		b.WriteRune(surnames[t.rng.IntN(len(surnames))])
	default:
		b.WriteString(compoundSurnames[t.rng.IntN(len(compoundSurnames))])
	}
	for range given {
		b.WriteRune(t.lex.chars[t.chars.Uint64()])
	}
	return b.String()
}

// Words returns exactly n characters of words, without punctuation.
func (t *Text) Words(n int) string {
	t.reset()
	for t.n < n {
		t.word()
	}
	return cut(t.b.String(), n, 0)
}

// prose returns exactly n characters of sentences, the last rune 。.
func (t *Text) prose(n int) string {
	t.reset()
	for t.n < n {
		t.sentence()
	}
	return cut(t.b.String(), n, '。')
}

func (t *Text) reset() { t.b.Reset(); t.n = 0 }

func (t *Text) put(s string) {
	t.b.WriteString(s)
	t.n += utf8.RuneCountInString(s)
}

var units = []string{"年", "月", "日", "户", "人", "件", "次", "万元"}

// word appends a word: a number, a new word or one from the lexicon.
func (t *Text) word() {
	switch {
	case t.rng.IntN(numberOneIn) == 0:
		t.put(strconv.Itoa(t.rng.IntN([]int{10, 100, 1000, 10000}[t.rng.IntN(4)])))
		if t.rng.IntN(2) == 0 {
			t.put(units[t.rng.IntN(len(units))])
		}
	case t.rng.IntN(newWordOneIn) == 0:
		t.put(t.lex.word(t.rng, t.chars))
	default:
		t.put(t.lex.words[t.words.Uint64()])
	}
}

// clause appends 2–7 words.
func (t *Text) clause() {
	for k := 2 + t.rng.IntN(6); k > 0; k-- {
		t.word()
	}
}

// sentence appends 1–3 clauses and a full stop, perhaps quoting and
// remarking.
func (t *Text) sentence() {
	switch t.rng.IntN(quoteOneIn * 2) {
	case 0:
		t.put("《")
		for k := 2 + t.rng.IntN(3); k > 0; k-- {
			t.word()
		}
		t.put("》")
	case 1:
		t.put("“")
		for k := 1 + t.rng.IntN(3); k > 0; k-- {
			t.word()
		}
		t.put("”")
	}
	for c := 1 + t.rng.IntN(3); ; {
		t.clause()
		if c == 1 && t.rng.IntN(remarkOneIn) == 0 {
			t.put("（")
			t.clause()
			t.put("）")
		}
		if c--; c == 0 {
			break
		}
		switch p := t.rng.IntN(10); {
		case p < 8:
			t.put("，")
		case p < 9:
			t.put("；")
		default:
			t.put("、")
		}
	}
	t.put("。")
}

// cut returns the first n runes of s (s has at least n), the last one
// replaced by last unless last is 0.
func cut(s string, n int, last rune) string {
	r := []rune(s)[:n]
	if last != 0 {
		r[n-1] = last
	}
	return string(r)
}
