package dashboard

import (
	"encoding/json"
	"net/http"
)

// apiError is the body of every error the API answers: {"error": "..."}.
type apiError struct {
	Error string `json:"error"`
}

// writeError answers code with a JSON error body.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// writeJSON answers code with v encoded as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	writeJSONBytes(w, code, b)
}

func writeJSONBytes(w http.ResponseWriter, code int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte{'\n'})
}
