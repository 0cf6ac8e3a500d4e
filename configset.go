package breaker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ConfigSet is the configuration of many breakers, usually read from one
// file with ParseConfigSet: the Defaults every breaker gets unless it is
// named in Breakers, and the named breakers' own configurations, each
// already merged over the defaults (or over its own preset).
//
// A ConfigSet is plain data. Supervisor.Apply reconfigures a supervisor's
// breakers from one; Config looks a name up. The zero ConfigSet has the
// zero Config as its Defaults, which is not valid: Apply rejects it.
type ConfigSet struct {
	// Defaults is the configuration of every breaker not in Breakers.
	Defaults Config
	// Breakers holds the configuration of each named breaker, complete
	// (not a difference from Defaults).
	Breakers map[string]Config
}

// Config returns the configuration of the breaker named name:
// Breakers[name] if there is one, else Defaults. Safe for concurrent use
// as long as nobody writes to cs.Breakers.
func (cs ConfigSet) Config(name string) Config {
	if c, ok := cs.Breakers[name]; ok {
		return c
	}
	return cs.Defaults
}

// ParseConfigSet reads a ConfigSet from JSON of the form
//
//	{
//	  "defaults": {"preset": "default", "openTimeout": "10s"},
//	  "breakers": {
//	    "payments": {"failureRate": 0.25, "halfOpen": {"maxProbes": 1}},
//	    "search":   {"preset": "lenient"}
//	  }
//	}
//
// with the keys of Config's JSON encoding (see Config.MarshalJSON), plus
// "preset" in any object: "default", "aggressive" or "lenient" (the
// configurations of DefaultConfig, AggressiveConfig and LenientConfig).
// Both top-level keys are optional.
//
// The effective defaults are their preset (DefaultConfig if none) with
// their own fields on top. A breaker entry that names a preset starts from
// that preset; one that does not starts from the effective defaults; either
// way its own fields go on top. Merging is per field, nested objects
// included: an omitted field (or null) inherits, an explicit value, zero
// included, overrides. So {"window": {"size": 50}} changes the window's
// size and keeps its kind.
//
// Every configuration is validated (Config.Validate). ParseConfigSet
// reports every problem at once, each naming its JSON path, for example
//
//	breakers.payments.failureRate: must be in (0,1], got 1.5
//	breakers.payments.halfOpen.maxProbe: unknown key; did you mean "maxProbes"?
//	defaults.openTimeout: must be a Go duration string such as "30s", got 30
//
// A name that is not a plain word is quoted in a path
// (breakers["api.example.com"].callTimeout). A problem inherited from the
// defaults is reported once, at the defaults. Duplicate keys are an error.
// On error the ConfigSet is the zero ConfigSet.
func ParseConfigSet(data []byte) (ConfigSet, error) {
	p := &setParser{}
	cs := p.parse(data)
	if len(p.problems) > 0 {
		return ConfigSet{}, &ConfigSetError{Problems: p.problems}
	}
	return cs, nil
}

// ConfigSetError is the error of ParseConfigSet: every problem found, each
// an error whose message starts with the JSON path it is about. Its
// message lists them one per line under a header. errors.Is and errors.As
// see each problem (Unwrap).
type ConfigSetError struct {
	Problems []error
}

// Error lists the problems, one per line.
func (e *ConfigSetError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if n == 1 {
		b.WriteString("breaker: invalid config set: 1 problem:")
	} else {
		fmt.Fprintf(&b, "breaker: invalid config set: %d problems:", n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *ConfigSetError) Unwrap() []error { return e.Problems }

// pathError is one problem of a config set: a JSON path and what is wrong
// there.
type pathError struct {
	path, msg string
}

func (e *pathError) Error() string { return e.path + ": " + e.msg }

// setParser collects the problems of one ParseConfigSet call.
type setParser struct {
	problems []error
}

func (p *setParser) bad(path, format string, args ...any) {
	if path == "" {
		path = "(top level)"
	}
	p.problems = append(p.problems, &pathError{path, fmt.Sprintf(format, args...)})
}

// member is one key of a JSON object, in the order written.
type member struct {
	key string
	raw json.RawMessage
}

// object decodes raw as a JSON object, reporting a value that is not one,
// and duplicate keys, at path. ok is false if raw is not an object.
func (p *setParser) object(path string, raw json.RawMessage) (ms []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if d, isDelim := tok.(json.Delim); err != nil || !isDelim || d != '{' {
		if err != nil {
			p.bad(path, "not valid JSON: %v", err)
		} else {
			p.bad(path, "must be a JSON object, got %s", brief(raw))
		}
		return nil, false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.bad(path, "not valid JSON: %v", err)
			return ms, false
		}
		key := tok.(string) // inside an object the decoder yields keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			p.bad(join(path, key), "not valid JSON: %v", err)
			return ms, false
		}
		if seen[key] {
			p.bad(join(path, key), "duplicate key")
			continue
		}
		seen[key] = true
		ms = append(ms, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		p.bad(path, "not valid JSON: %v", err)
		return ms, false
	}
	if _, err := dec.Token(); err != io.EOF {
		p.bad(path, "unexpected data after the JSON object")
		return ms, false
	}
	return ms, true
}

// parse reads the whole set.
func (p *setParser) parse(data []byte) ConfigSet {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		p.bad("", "not valid JSON: %v", err)
		return ConfigSet{}
	}
	top, ok := p.object("", data)
	if !ok {
		return ConfigSet{}
	}
	var defaultsRaw, breakersRaw json.RawMessage
	for _, m := range top {
		switch m.key {
		case "defaults":
			defaultsRaw = m.raw
		case "breakers":
			breakersRaw = m.raw
		default:
			p.unknown("", m.key, []string{"defaults", "breakers"})
		}
	}

	cs := ConfigSet{Defaults: DefaultConfig(), Breakers: map[string]Config{}}
	if !isNull(defaultsRaw) {
		cs.Defaults = p.entry("defaults", defaultsRaw, DefaultConfig())
	}
	// The defaults' problems, reported once here, not again for each
	// breaker that inherits them.
	defaultProblems := p.validate("defaults", cs.Defaults, nil)
	if isNull(breakersRaw) {
		return cs
	}
	entries, ok := p.object("breakers", breakersRaw)
	if !ok {
		return cs
	}
	slices.SortStableFunc(entries, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for _, e := range entries {
		path := "breakers" + nameSegment(e.key)
		if e.key == "" {
			p.bad(path, "a breaker name must not be empty")
			continue
		}
		if isNull(e.raw) {
			p.bad(path, "must be a JSON object, got null")
			continue
		}
		c := p.entry(path, e.raw, cs.Defaults)
		p.validate(path, c, defaultProblems)
		cs.Breakers[e.key] = c
	}
	return cs
}

// entry reads one configuration object: its preset (or inherit), then its
// own fields on top.
func (p *setParser) entry(path string, raw json.RawMessage, inherit Config) Config {
	ms, ok := p.object(path, raw)
	if !ok {
		return inherit
	}
	c := inherit
	for _, m := range ms {
		if m.key != "preset" {
			continue
		}
		var name string
		if err := json.Unmarshal(m.raw, &name); err != nil || presetConfigs[name] == nil {
			p.bad(join(path, "preset"), "must be %s, got %s", presetNames(), brief(m.raw))
			break
		}
		c = presetConfigs[name]()
	}
	p.fields(path, ms, configFields, true, &c)
	return c
}

// fields applies the members of an object to c, each through its field
// spec. top says the object is a whole configuration, whose "preset" entry
// has been read.
func (p *setParser) fields(path string, ms []member, specs []fieldSpec, top bool, c *Config) {
	for _, m := range ms {
		if top && m.key == "preset" {
			continue
		}
		i := slices.IndexFunc(specs, func(f fieldSpec) bool { return f.key == m.key })
		if i < 0 {
			p.unknownField(path, m.key, specs, top)
			continue
		}
		f := specs[i]
		fp := join(path, m.key)
		if isNull(m.raw) {
			continue // null inherits, as an omitted key does
		}
		if f.nested != nil {
			sub, ok := p.object(fp, m.raw)
			if ok {
				p.fields(fp, sub, f.nested, false, c)
			}
			continue
		}
		if msg := f.set(c, m.raw); msg != "" {
			p.bad(fp, "%s", msg)
		}
	}
}

// unknown reports an unknown key, naming the closest known one if any is
// close enough.
func (p *setParser) unknown(path, key string, known []string) {
	if s := suggest(key, known); s != "" {
		p.bad(join(path, key), "unknown key; did you mean %q?", s)
		return
	}
	p.bad(join(path, key), "unknown key (known keys: %s)", strings.Join(known, ", "))
}

// unknownField reports an unknown key of a configuration object: it names
// the closest key of the object, or else, at the top of a configuration,
// the nested key it resembles ("maxProbes" → "halfOpen.maxProbes").
func (p *setParser) unknownField(path, key string, specs []fieldSpec, top bool) {
	known := make([]string, 0, len(specs)+1)
	for _, f := range specs {
		known = append(known, f.key)
	}
	if top {
		known = append(known, "preset")
	}
	if top && suggest(key, known) == "" {
		var leaves, full []string
		for _, f := range specs {
			for _, n := range f.nested {
				leaves, full = append(leaves, n.key), append(full, f.key+"."+n.key)
			}
		}
		if s := suggest(key, leaves); s != "" {
			p.bad(join(path, key), "unknown key; did you mean %q?", full[slices.Index(leaves, s)])
			return
		}
	}
	p.unknown(path, key, known)
}

// validate validates c and reports each problem at path. A problem whose
// message is in inherited (the defaults' own problems) is not repeated.
// It returns the messages, without the path.
func (p *setParser) validate(path string, c Config, inherited []string) []string {
	err := c.Validate()
	if err == nil {
		return nil
	}
	errs := []error{err}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		errs = u.Unwrap()
	}
	var msgs []string
	for _, e := range errs {
		field, msg := jsonProblem(e.Error())
		full := join(path, field)
		if slices.Contains(inherited, field+"\x00"+msg) {
			continue
		}
		msgs = append(msgs, field+"\x00"+msg)
		p.bad(full, "%s", msg)
	}
	return msgs
}

var (
	// validateField matches Validate's "breaker: Config.<Field> <rule>".
	validateField = regexp.MustCompile(`^breaker: Config\.([A-Za-z.]+) (.*)$`)
	// goFieldRef matches a Go field path inside a message.
	goFieldRef = regexp.MustCompile(`Config\.([A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*)`)
)

// jsonProblem turns one of Validate's messages into a JSON path relative
// to the configuration object ("" for the object itself) and a message in
// JSON terms: "breaker: Config.Window.Size must be ≥ 1, got 0" becomes
// "window.size", "must be ≥ 1, got 0".
func jsonProblem(msg string) (field, rest string) {
	if m := validateField.FindStringSubmatch(msg); m != nil {
		field, rest = jsonFieldPath(m[1]), m[2]
	} else {
		rest = strings.TrimPrefix(strings.TrimPrefix(msg, "breaker: "), "Config ")
	}
	rest = goFieldRef.ReplaceAllStringFunc(rest, func(s string) string {
		return jsonFieldPath(strings.TrimPrefix(s, "Config."))
	})
	return field, rest
}

// jsonFieldPath turns a Go field path (HalfOpen.MaxWait) into its JSON key
// path (halfOpen.maxWait).
func jsonFieldPath(goPath string) string {
	parts := strings.Split(goPath, ".")
	for i, s := range parts {
		r, n := utf8.DecodeRuneInString(s)
		parts[i] = string(unicode.ToLower(r)) + s[n:]
	}
	return strings.Join(parts, ".")
}

// join appends a key to a path.
func join(path, key string) string {
	switch {
	case key == "":
		return path
	case path == "":
		return key
	}
	return path + "." + key
}

// plainName matches a breaker name that needs no quoting in a path.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// nameSegment is a breaker name as a path segment: ".payments", or
// `["api.example.com"]` for a name that is not a plain word.
func nameSegment(name string) string {
	if plainName.MatchString(name) {
		return "." + name
	}
	return "[" + strconv.Quote(name) + "]"
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// brief is raw as shown in a message: compact, and cut short if long.
func brief(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(bytes.TrimSpace(raw))
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// presetConfigs are the presets a config set may name.
var presetConfigs = map[string]func() Config{
	"default":    DefaultConfig,
	"aggressive": AggressiveConfig,
	"lenient":    LenientConfig,
}

func presetNames() string { return `"default", "aggressive" or "lenient"` }

// fieldSpec decodes one JSON key of a configuration object into c.
type fieldSpec struct {
	key    string
	set    func(c *Config, raw json.RawMessage) string // "" or what is wrong
	nested []fieldSpec                                 // for an object: its keys
}

// configFields are the keys of a configuration object, as in Config's JSON
// encoding.
var configFields = []fieldSpec{
	{key: "window", nested: []fieldSpec{
		{key: "kind", set: textField(func(c *Config) *WindowKind { return &c.Window.Kind }, `"count" or "time"`)},
		{key: "size", set: intField(func(c *Config) *int { return &c.Window.Size })},
		{key: "duration", set: durationField(func(c *Config) *time.Duration { return &c.Window.Duration })},
		{key: "buckets", set: intField(func(c *Config) *int { return &c.Window.Buckets })},
	}},
	{key: "minimumCalls", set: intField(func(c *Config) *int { return &c.MinimumCalls })},
	{key: "consecutiveFailures", set: intField(func(c *Config) *int { return &c.ConsecutiveFailures })},
	{key: "failureRate", set: floatField(func(c *Config) *float64 { return &c.FailureRate })},
	{key: "slowCallDuration", set: durationField(func(c *Config) *time.Duration { return &c.SlowCallDuration })},
	{key: "slowCallRate", set: floatField(func(c *Config) *float64 { return &c.SlowCallRate })},
	{key: "openTimeout", set: durationField(func(c *Config) *time.Duration { return &c.OpenTimeout })},
	{key: "backoffMultiplier", set: floatField(func(c *Config) *float64 { return &c.BackoffMultiplier })},
	{key: "maxOpenTimeout", set: durationField(func(c *Config) *time.Duration { return &c.MaxOpenTimeout })},
	{key: "halfOpen", nested: []fieldSpec{
		{key: "maxProbes", set: intField(func(c *Config) *int { return &c.HalfOpen.MaxProbes })},
		{key: "mode", set: textField(func(c *Config) *HalfOpenMode { return &c.HalfOpen.Mode }, `"strict" or "by-rate"`)},
		{key: "successThreshold", set: intField(func(c *Config) *int { return &c.HalfOpen.SuccessThreshold })},
		{key: "minimumProbes", set: intField(func(c *Config) *int { return &c.HalfOpen.MinimumProbes })},
		{key: "successRate", set: floatField(func(c *Config) *float64 { return &c.HalfOpen.SuccessRate })},
		{key: "maxWait", set: durationField(func(c *Config) *time.Duration { return &c.HalfOpen.MaxWait })},
	}},
	{key: "callTimeout", set: durationField(func(c *Config) *time.Duration { return &c.CallTimeout })},
}

func intField(f func(*Config) *int) func(*Config, json.RawMessage) string {
	return func(c *Config, raw json.RawMessage) string {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil {
			return "must be an integer, got " + brief(raw)
		}
		*f(c) = v
		return ""
	}
}

func floatField(f func(*Config) *float64) func(*Config, json.RawMessage) string {
	return func(c *Config, raw json.RawMessage) string {
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return "must be a number, got " + brief(raw)
		}
		*f(c) = v
		return ""
	}
}

func durationField(f func(*Config) *time.Duration) func(*Config, json.RawMessage) string {
	return func(c *Config, raw json.RawMessage) string {
		d, err := parseDurationJSON(raw)
		if err != nil {
			return `must be a Go duration string such as "30s", got ` + brief(raw) + err.Error()
		}
		*f(c) = d
		return ""
	}
}

func textField[T any, PT interface {
	*T
	UnmarshalText([]byte) error
}](f func(*Config) PT, want string) func(*Config, json.RawMessage) string {
	return func(c *Config, raw json.RawMessage) string {
		var s string
		var v T
		if json.Unmarshal(raw, &s) != nil || PT(&v).UnmarshalText([]byte(s)) != nil {
			return "must be " + want + ", got " + brief(raw)
		}
		*f(c) = v
		return ""
	}
}

// suggest returns the known key closest to key, if it is close enough to
// be what was meant: the same ignoring case, or within an edit distance of
// about a third of its length.
func suggest(key string, known []string) string {
	best, bestD := "", -1
	lk := strings.ToLower(key)
	for _, k := range known {
		d := editDistance(lk, strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD >= 0 && bestD <= max(1, len(best)/3) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
