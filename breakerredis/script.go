package breakerredis

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed common.lua
	commonLua string
	//go:embed save.lua
	saveLua string
	//go:embed load.lua
	loadLua string
)

// saveScript is the one script that writes: merge rule, gen and publish in
// one atomic step. loadScript reads a namespace at one server instant.
// Both run with EVALSHA, falling back to EVAL (go-redis's Script.Run), so
// they survive a server restart that emptied its script cache.
var (
	saveScript = redis.NewScript(commonLua + saveLua)
	loadScript = redis.NewScript(commonLua + loadLua)
)
