//go:build !race

package breakerredis

const raceEnabled = false
