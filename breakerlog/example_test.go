package breakerlog_test

import (
	"log/slog"
	"os"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerlog"
)

// Log every state change of a supervisor's breakers. Here the handler
// writes JSON without times, so the output is reproducible.
func Example() {
	s := breaker.NewSupervisor()
	defer s.Close()
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))
	stop := breakerlog.Attach(s, logger)

	b, _ := s.GetOrCreate("payments", breaker.DefaultConfig())
	b.ForceOpen()
	b.Reset()

	stop() // logs what is pending, then returns
	// Output:
	// {"level":"WARN","msg":"circuit breaker forced open","breaker":"payments","seq":1,"kind":"state-changed","from":"closed","to":"forced-open","reason":"manual"}
	// {"level":"INFO","msg":"circuit breaker closed","breaker":"payments","seq":2,"kind":"state-changed","from":"forced-open","to":"closed","reason":"manual"}
}
