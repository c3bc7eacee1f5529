package report

// The helpers of the internal tests, for the external ones (package
// report_test, demo_test.go): those build the demo, which runs a county
// server, which imports this package, so they cannot be internal.
var (
	OpenXLSX        = openXLSX
	ReadCSV         = readCSV
	Pad             = pad
	RawRows         = rawRows
	CheckAnnual     = checkAnnual
	AnnualHeadersZh = annualHeadersZh
	Zh              = zh
	PDFText         = pdfText
	PDFPages        = pdfPages
	DecodeQR        = decodeQR
	Downscale       = downscale
)
