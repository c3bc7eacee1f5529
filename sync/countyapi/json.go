package countyapi

import (
	"encoding/json"
	"io"
	"net/http"
)

// The JSON of answers: the county server's routes, the municipal node's
// operator routes (which follow the county's conventions, ErrorBody
// included) and the commands that print JSON all write it here.

// WriteJSON answers an HTTP request with status and v as compact JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { answer(w, status, v, false) }

// WriteIndentedJSON is WriteJSON indented by two spaces a level, for
// routes people read with curl.
func WriteIndentedJSON(w http.ResponseWriter, status int, v any) { answer(w, status, v, true) }

// PrintJSON writes v to w as JSON indented by two spaces a level and a
// newline, for a command's -json output.
func PrintJSON(w io.Writer, v any) error { return encode(w, v, true) }

func answer(w http.ResponseWriter, status int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	encode(w, v, indent) // the status is sent: a failure here is the client's connection
}

func encode(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
