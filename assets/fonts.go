package assets

import _ "embed" // for the fonts below

// The embedded CJK fonts: subsets of Noto Sans CJK SC Regular and Bold made
// by tools/fontsubset/subset.py (GB2312, every character of the translation
// files, demo data and office directory, names from extra.txt; see
// docs/fonts.md). Only binaries that call FontCJK or FontCJKBold carry them:
// the linker drops unreferenced variables.
var (
	//go:embed fonts/NotoSansSC-Jiannuo.otf
	fontCJK []byte
	//go:embed fonts/NotoSansSC-Jiannuo-Bold.otf
	fontCJKBold []byte
	//go:embed fonts/OFL.txt
	fontLicense string
)

// FontCJK returns the embedded Simplified Chinese font (OpenType/CFF, regular
// weight). The slice is shared, not copied: do not modify it.
func FontCJK() []byte { return fontCJK }

// FontCJKBold returns the bold weight of FontCJK, with the same characters.
// The slice is shared, not copied: do not modify it.
func FontCJKBold() []byte { return fontCJKBold }

// FontLicense returns the fonts' copyright notice and licence (SIL Open Font
// License 1.1), for the app's About or licences screen: the OFL asks that it
// travel with every copy of the fonts.
func FontLicense() string { return fontLicense }
