package county

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/calendar"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// County decisions other than change sets travel down to devices once they
// have caught up with the feed: revocations (so every device knows which
// devices no longer write, after it holds everything they wrote before) and
// calendar updates (next year's official holiday schedule, without a new
// build).

var bCalendar = []byte("x-calendar") // "latest" -> version(8) | signed CalendarUpdate

// PublishCalendar signs an overlay file (domain/calendar format) as the
// county's next calendar update and sends it to every device. It returns
// the update's version.
func (s *Server) PublishCalendar(overlay []byte, who string) (uint64, error) {
	if _, err := calendar.ParseOverlay(overlay); err != nil {
		return 0, fmt.Errorf("%w: %v", protocol.ErrInvalidOperation, err)
	}
	if len(overlay) > protocol.MaxCalendarBytes {
		return 0, fmt.Errorf("%w: calendar overlay of %d bytes", protocol.ErrOversize, len(overlay))
	}
	var version uint64
	err := s.st.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bCalendar)
		if err != nil {
			return err
		}
		if old := b.Get([]byte("latest")); len(old) >= 8 {
			version = binary.BigEndian.Uint64(old)
		}
		version++
		u := protocol.CalendarUpdate{County: s.id.County, Version: version, Overlay: overlay, Time: s.cfg.Now().UnixMilli()}
		if err := putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditCalendar, Target: fmt.Sprintf("calendar v%d", version),
			Detail: fmt.Sprintf("overlay sha256 %s", protocol.HashOf(overlay))}); err != nil {
			return err
		}
		return b.Put([]byte("latest"), append(binary.BigEndian.AppendUint64(nil, version), u.Sign(s.id.Key)...))
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("calendar update published", "version", version, "by", who)
	s.feedAdvanced() // wake the sessions so they send it
	return version, nil
}

// decisions returns the signed revocations and the latest calendar update,
// for a session that has caught up.
func (s *Server) decisions() (revocations map[protocol.DeviceID][]byte, calVersion uint64, cal []byte) {
	revocations = make(map[protocol.DeviceID][]byte)
	s.st.View(func(tx *bolt.Tx) error {
		tx.Bucket(bRevocations).ForEach(func(k, v []byte) error {
			var id protocol.DeviceID
			copy(id[:], k)
			revocations[id] = append([]byte(nil), v...)
			return nil
		})
		if b := tx.Bucket(bCalendar); b != nil {
			if v := b.Get([]byte("latest")); len(v) >= 8 {
				calVersion, cal = binary.BigEndian.Uint64(v), append([]byte(nil), v[8:]...)
			}
		}
		return nil
	})
	return revocations, calVersion, cal
}

// calendar returns the county's working-day calendar: Config.Calendar (or
// the built-in one) with the newest calendar update the county published
// laid over it, as its devices have it (engine.Calendar).
func (s *Server) calendar() *calendar.Calendar {
	cal := s.cfg.Calendar
	if cal == nil {
		cal = calendar.Default()
	}
	_, _, doc := s.decisions()
	if doc == nil {
		return cal
	}
	u, err := protocol.OpenCalendarUpdate(doc, s.id.Key.Public().(ed25519.PublicKey))
	if err != nil {
		s.log.Error("the published calendar update does not open", "err", err)
		return cal
	}
	o, err := calendar.ParseOverlay(u.Overlay)
	if err != nil {
		s.log.Error("the published calendar overlay does not parse", "err", err)
		return cal
	}
	return cal.WithOverlay(o)
}
