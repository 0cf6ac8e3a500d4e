//go:build !mut_publish_first

package mutant

// PublishFirst is the switch of the seeded bug under build tag mut_publish_first.
const PublishFirst = false
