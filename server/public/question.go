package public

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"jiannuo/assets"
	"jiannuo/sync/protocol"
)

// The form's question: a sum in Chinese numerals drawn as a PNG, which a
// person reads at a glance and a script cannot answer without reading the
// image (the page runs no script, so nothing cleverer is possible under its
// CSP). The form carries a token, HMAC-signed by the node, holding when it
// was issued, a random nonce and a keyed hash of the answer; the question
// itself is derived from the nonce with the same key, so the image can be
// drawn from the token alone and the node keeps no state per form served.
// A token is used once: the nonces of answered tokens are remembered until
// they expire.

// Defaults of the question (Config).
const (
	DefaultMinFillTime = 3 * time.Second
	DefaultQuestionTTL = time.Hour
)

// replayCap bounds the remembered nonces. Filings are rate-limited per
// address long before a city's worth of answers within one TTL fills it;
// when it is full of unexpired nonces, answers are refused (rate_limited)
// rather than forgotten, so a token can never be used twice.
const replayCap = 1 << 17

const (
	tokenVersion = 1
	tokenMACLen  = 16
	tokenLen     = 1 + 8 + 16 + tokenMACLen + tokenMACLen
)

// Context strings keep the three uses of the key apart.
const (
	ctxQuestion = "jiannuo/public/question/v1\x00"
	ctxAnswer   = "jiannuo/public/answer/v1\x00"
	ctxToken    = "jiannuo/public/token/v1\x00"
)

// token is a decoded question token.
type token struct {
	issued time.Time
	nonce  [16]byte
	answer [tokenMACLen]byte // keyed hash of the answer
}

// questioner issues and checks question tokens and draws their images.
type questioner struct {
	key     []byte
	ttl     time.Duration
	minFill time.Duration

	mu   sync.Mutex
	used map[[16]byte]time.Time // nonce -> when its token expires
}

func newQuestioner(cfg *Config) *questioner {
	q := &questioner{key: cfg.QuestionKey, ttl: cfg.QuestionTTL, minFill: cfg.MinFillTime, used: map[[16]byte]time.Time{}}
	if len(q.key) == 0 {
		q.key = make([]byte, 32)
		_, _ = rand.Read(q.key) // crypto/rand.Read never fails (Go 1.24+)
	} else if len(q.key) < 32 {
		panic("public.New: Config.QuestionKey is shorter than 32 bytes")
	}
	if q.ttl <= 0 {
		q.ttl = DefaultQuestionTTL
	}
	if q.minFill <= 0 {
		q.minFill = DefaultMinFillTime
	}
	return q
}

func (q *questioner) mac(ctx string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, q.key)
	m.Write([]byte(ctx))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// arithmetic is one question: its text in Chinese numerals and its answer.
type arithmetic struct {
	Text   string // "三十七 减 八 等于 ？": no "＝", which reads as 二 once jittered
	Answer int
}

// rng returns the random source of a nonce's question and drawing: a
// stream keyed by the node's key, so that only the node can tell the
// question from the token.
func (q *questioner) rng(nonce [16]byte) *mrand.Rand {
	var seed [32]byte
	copy(seed[:], q.mac(ctxQuestion, nonce[:]))
	return mrand.New(mrand.NewChaCha8(seed))
}

// question derives the question of a nonce: a two-digit number plus or
// minus a digit, or the product of two digits; the answer is 1–81.
func question(r *mrand.Rand) arithmetic {
	switch r.IntN(3) {
	case 0:
		a, b := 11+r.IntN(39), 2+r.IntN(8)
		return arithmetic{chineseNumber(a) + " 加 " + chineseNumber(b) + " 等于 ？", a + b}
	case 1:
		a, b := 11+r.IntN(39), 2+r.IntN(8)
		return arithmetic{chineseNumber(a) + " 减 " + chineseNumber(b) + " 等于 ？", a - b}
	}
	a, b := 2+r.IntN(8), 2+r.IntN(8)
	return arithmetic{chineseNumber(a) + " 乘 " + chineseNumber(b) + " 等于 ？", a * b}
}

var chineseDigits = []rune("〇一二三四五六七八九")

// chineseNumber writes 0–99 in Chinese numerals: 七, 十三, 三十, 四十七.
func chineseNumber(n int) string {
	switch {
	case n < 10:
		return string(chineseDigits[n])
	case n < 20:
		if n == 10 {
			return "十"
		}
		return "十" + string(chineseDigits[n-10])
	}
	s := string(chineseDigits[n/10]) + "十"
	if n%10 != 0 {
		s += string(chineseDigits[n%10])
	}
	return s
}

func (q *questioner) answerHash(nonce [16]byte, answer int) [tokenMACLen]byte {
	var out [tokenMACLen]byte
	copy(out[:], q.mac(ctxAnswer, nonce[:], []byte(strconv.Itoa(answer))))
	return out
}

// issue returns a fresh token, issued now.
func (q *questioner) issue(now time.Time) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails (Go 1.24+)
	return q.issueNonce(nonce, now)
}

// issueNonce returns the token of a nonce issued at now.
func (q *questioner) issueNonce(nonce [16]byte, now time.Time) string {
	t := token{nonce: nonce, issued: now}
	t.answer = q.answerHash(t.nonce, question(q.rng(t.nonce)).Answer)
	b := make([]byte, 0, tokenLen)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(now.UnixMilli()))
	b = append(b, t.nonce[:]...)
	b = append(b, t.answer[:]...)
	b = append(b, q.mac(ctxToken, b)[:tokenMACLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("not a token of this node")

// parse decodes a token and checks its signature (not its age).
func (q *questioner) parse(s string) (token, error) {
	var t token
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return t, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return t, errBadToken
	}
	body, sig := b[:tokenLen-tokenMACLen], b[tokenLen-tokenMACLen:]
	if subtle.ConstantTimeCompare(q.mac(ctxToken, body)[:tokenMACLen], sig) != 1 {
		return t, errBadToken
	}
	ms := binary.BigEndian.Uint64(body[1:9])
	if ms > math.MaxInt64 {
		return t, errBadToken
	}
	t.issued = time.UnixMilli(int64(ms))
	copy(t.nonce[:], body[9:25])
	copy(t.answer[:], body[25:])
	return t, nil
}

// AnswerOf returns the answer to the question of a form's token, as a
// person reads it off the image, for whoever holds the key that signed the
// token (Config.QuestionKey): tests that post the real forms of a node
// whose key they chose. The node itself never reveals an answer; without
// the key nothing can be told from the token. It fails with the token
// unreadable or signed with another key.
func AnswerOf(key []byte, tok string) (int, error) {
	if len(key) < 32 {
		return 0, errors.New("public.AnswerOf: the key is shorter than 32 bytes")
	}
	q := &questioner{key: key}
	t, err := q.parse(tok)
	if err != nil {
		return 0, err
	}
	return question(q.rng(t.nonce)).Answer, nil
}

// live reports whether a token may still be answered at now (not counting
// whether it was used).
func (q *questioner) live(t token, now time.Time) bool {
	age := now.Sub(t.issued)
	return age >= -time.Minute && age <= q.ttl
}

// check answers whether answer is the right answer of token s at now, and
// uses the token up. It returns the refusal's code and, for the log, why.
func (q *questioner) check(s, answer string, now time.Time) (protocol.Code, string) {
	t, err := q.parse(s)
	if err != nil {
		return protocol.CodeBadAnswer, "token does not verify"
	}
	if !q.live(t, now) {
		return protocol.CodeBadAnswer, "token expired"
	}
	switch q.use(t, now) {
	case useReplayed:
		return protocol.CodeBadAnswer, "token used before"
	case useFull:
		return protocol.CodeRateLimited, "question replay table full"
	}
	if now.Sub(t.issued) < q.minFill {
		return protocol.CodeTooFast, fmt.Sprintf("posted %v after the form was served", now.Sub(t.issued).Round(time.Millisecond))
	}
	n, ok := parseAnswer(answer)
	if !ok {
		return protocol.CodeBadAnswer, "answer is not a number"
	}
	want := q.answerHash(t.nonce, n)
	if subtle.ConstantTimeCompare(want[:], t.answer[:]) != 1 {
		return protocol.CodeBadAnswer, "wrong answer"
	}
	return protocol.CodeOK, ""
}

const (
	useOK = iota
	useReplayed
	useFull
)

// use remembers a token's nonce until the token expires.
func (q *questioner) use(t token, now time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.used[t.nonce]; ok {
		return useReplayed
	}
	if len(q.used) >= replayCap {
		for n, exp := range q.used {
			if now.After(exp) {
				delete(q.used, n)
			}
		}
		if len(q.used) >= replayCap {
			return useFull
		}
	}
	q.used[t.nonce] = t.issued.Add(q.ttl + time.Minute)
	return useOK
}

// parseAnswer reads a typed answer: ASCII or full-width digits, spaces
// around ignored.
func parseAnswer(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 12 {
		return 0, false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		default:
			return 0, false
		}
	}
	n, err := strconv.Atoi(b.String())
	return n, err == nil && n < 1000
}

// The question image's size, in pixels.
const (
	questionW = 300
	questionH = 76
)

// questionFont is the embedded CJK font, parsed once.
var questionFont = sync.OnceValues(func() (*sfnt.Font, error) { return sfnt.Parse(assets.FontCJK()) })

// image draws the token's question: each character in its own colour,
// size, rotation and offset, over a tinted background with curves and
// dots across it. The drawing is a function of the token and the key, so
// reloading the image shows the same picture.
func (q *questioner) image(t token) ([]byte, error) {
	f, err := questionFont()
	if err != nil {
		return nil, err
	}
	r := q.rng(t.nonce)
	qu := question(r)
	img := image.NewRGBA(image.Rect(0, 0, questionW, questionH))
	// Background: a light horizontal gradient between two random tints.
	c0, c1 := lightColour(r), lightColour(r)
	for x := 0; x < questionW; x++ {
		k := float64(x) / questionW
		c := color.RGBA{mix(c0.R, c1.R, k), mix(c0.G, c1.G, k), mix(c0.B, c1.B, k), 255}
		for y := 0; y < questionH; y++ {
			img.SetRGBA(x, y, c)
		}
	}
	z := vector.NewRasterizer(questionW, questionH)
	// Curves behind the text, lighter than it and steep enough not to
	// pass for a stroke.
	for range 4 {
		curve(z, img, r, lightish(r), 1.2+r.Float64())
	}
	var buf sfnt.Buffer
	runes := []rune(strings.ReplaceAll(qu.Text, " ", ""))
	x := 10 + r.Float64()*8
	step := float64(questionW-24) / float64(len(runes))
	for _, ch := range runes {
		idx, err := f.GlyphIndex(&buf, ch)
		if err != nil || idx == 0 {
			return nil, fmt.Errorf("question font lacks %q", ch)
		}
		size := min(34+r.Float64()*8, step*1.02)
		segs, err := f.LoadGlyph(&buf, idx, fixed.Int26_6(size*64), nil)
		if err != nil {
			return nil, err
		}
		angle := (r.Float64()*2 - 1) * 0.30 // about ±17°
		shear := (r.Float64()*2 - 1) * 0.25
		ox, oy := x+(r.Float64()*2-1)*3, 55+(r.Float64()*2-1)*6
		cx, cy := size/2, -size/2.8 // rotate about the glyph's middle
		sin, cos := math.Sincos(angle)
		tf := func(p fixed.Point26_6) (float32, float32) {
			px, py := float64(p.X)/64-cx, float64(p.Y)/64-cy
			px += shear * py
			return float32(ox + cx + px*cos - py*sin), float32(oy + cy + px*sin + py*cos)
		}
		z.Reset(questionW, questionH)
		for _, s := range segs {
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				z.MoveTo(tf(s.Args[0]))
			case sfnt.SegmentOpLineTo:
				z.LineTo(tf(s.Args[0]))
			case sfnt.SegmentOpQuadTo:
				ax, ay := tf(s.Args[0])
				bx, by := tf(s.Args[1])
				z.QuadTo(ax, ay, bx, by)
			case sfnt.SegmentOpCubeTo:
				ax, ay := tf(s.Args[0])
				bx, by := tf(s.Args[1])
				cx2, cy2 := tf(s.Args[2])
				z.CubeTo(ax, ay, bx, by, cx2, cy2)
			}
		}
		z.ClosePath()
		z.Draw(img, img.Bounds(), image.NewUniform(darkColour(r)), image.Point{})
		x += step
	}
	// Dots over the text. No lines: a line across 一, 二 or 三 would
	// read as one more stroke.
	for range 260 {
		px, py := r.IntN(questionW), r.IntN(questionH)
		c := darkColour(r)
		if r.IntN(2) == 0 {
			c = lightColour(r)
		}
		img.SetRGBA(px, py, c)
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// curve strokes a random wave across the image with half-width w.
func curve(z *vector.Rasterizer, img *image.RGBA, r *mrand.Rand, c color.RGBA, w float64) {
	z.Reset(questionW, questionH)
	y0 := 10 + r.Float64()*(questionH-20)
	amp, freq, phase := 12+r.Float64()*14, 0.03+r.Float64()*0.04, r.Float64()*2*math.Pi
	slope := (r.Float64()*2 - 1) * 0.15
	at := func(x float64) float64 { return y0 + slope*x + amp*math.Sin(freq*x+phase) }
	for x := 0.0; x < questionW; x += 4 {
		y1, y2 := at(x), at(x+4)
		z.MoveTo(float32(x), float32(y1-w))
		z.LineTo(float32(x+4), float32(y2-w))
		z.LineTo(float32(x+4), float32(y2+w))
		z.LineTo(float32(x), float32(y1+w))
		z.ClosePath()
	}
	z.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
}

func mix(a, b uint8, k float64) uint8 { return uint8(float64(a)*(1-k) + float64(b)*k) }

func lightColour(r *mrand.Rand) color.RGBA {
	return color.RGBA{uint8(215 + r.IntN(40)), uint8(215 + r.IntN(40)), uint8(215 + r.IntN(40)), 255}
}

func lightish(r *mrand.Rand) color.RGBA {
	return color.RGBA{uint8(150 + r.IntN(60)), uint8(150 + r.IntN(60)), uint8(150 + r.IntN(60)), 255}
}

func darkColour(r *mrand.Rand) color.RGBA {
	return color.RGBA{uint8(r.IntN(110)), uint8(r.IntN(90)), uint8(r.IntN(120)), 255}
}

// serveQuestion is GET /q/{token}.png: the question of a live token.
func (h *handler) serveQuestion(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("token"), ".png")
	t, err := h.q.parse(name)
	if !ok || err != nil || !h.q.live(t, h.now()) {
		h.serveNotFound(w, r)
		return
	}
	b, err := h.q.image(t)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/png")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(b)
}
