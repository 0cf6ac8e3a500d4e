//go:build race

package breakerredis

// raceEnabled: timing targets are checked loosely under the race detector,
// which slows every goroutine hand-off several times over.
const raceEnabled = true
