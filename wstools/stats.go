package wstools

import "sync/atomic"

// Stats is a snapshot of a hub's counters since it was created.
type Stats struct {
	Connections     int    // open connections now
	Rooms           int    // rooms with local members now
	Accepted        uint64 // handshakes upgraded
	Refused         uint64 // handshakes refused before the upgrade
	MessagesIn      uint64 // messages read from clients
	MessagesOut     uint64 // messages written to clients
	Broadcasts      uint64 // room and hub-wide broadcasts delivered locally
	RemoteIn        uint64 // broadcasts received from other instances
	Dropped         uint64 // messages discarded by DropOldest or DropNewest
	DroppedBytes    uint64 // their total size
	SlowDisconnects uint64 // connections closed with 1013 by the Disconnect policy
	RateLimited     uint64 // connections closed with 1008 for sending too fast
	TooBig          uint64 // connections closed with 1009
	Malformed       uint64 // malformed messages received
	DeadPeers       uint64 // connections closed for a missing pong
	WriteFailures   uint64 // writes that failed or timed out
	PublishErrors   uint64 // broadcasts the broker refused
	BrokerMalformed uint64 // broker messages that could not be decoded
}

type counters struct {
	accepted, refused, messagesIn, messagesOut, broadcasts, remoteIn    atomic.Uint64
	dropped, droppedBytes, slowDisconnects, rateLimited, tooBig         atomic.Uint64
	malformed, deadPeers, writeFailures, publishErrors, brokerMalformed atomic.Uint64
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	conns, rooms := len(h.conns), len(h.rooms)
	h.mu.RUnlock()
	c := &h.stats
	return Stats{
		Connections:     conns,
		Rooms:           rooms,
		Accepted:        c.accepted.Load(),
		Refused:         c.refused.Load(),
		MessagesIn:      c.messagesIn.Load(),
		MessagesOut:     c.messagesOut.Load(),
		Broadcasts:      c.broadcasts.Load(),
		RemoteIn:        c.remoteIn.Load(),
		Dropped:         c.dropped.Load(),
		DroppedBytes:    c.droppedBytes.Load(),
		SlowDisconnects: c.slowDisconnects.Load(),
		RateLimited:     c.rateLimited.Load(),
		TooBig:          c.tooBig.Load(),
		Malformed:       c.malformed.Load(),
		DeadPeers:       c.deadPeers.Load(),
		WriteFailures:   c.writeFailures.Load(),
		PublishErrors:   c.publishErrors.Load(),
		BrokerMalformed: c.brokerMalformed.Load(),
	}
}
