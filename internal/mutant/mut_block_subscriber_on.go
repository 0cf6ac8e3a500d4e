//go:build mut_block_subscriber

package mutant

// BlockSubscriber is the switch of the seeded bug under build tag mut_block_subscriber.
const BlockSubscriber = true
