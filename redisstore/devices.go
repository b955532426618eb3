package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/registrar"
)

// maxDevice bounds one device read from Redis: a name, an owner, a few
// lines and digest credentials.
const maxDevice = 64 << 10

// deviceBatch is how many devices one HSCAN step or one HSET writes.
const deviceBatch = 1000

// maxDevices bounds the devices read: ten times the largest Unified CM
// cluster's.
const maxDevices = 1_000_000

// ErrDevicesNotLoaded is returned by Devices.Device before the devices
// were first read from Redis: the registrar answers 503 rather than
// refuse a device it cannot see yet.
var ErrDevicesNotLoaded = errors.New("redisstore: devices not read from Redis yet")

// Devices is a registrar.Devices shared by the nodes of a cluster through
// Redis: the hash <prefix>devices, a field per device name holding its
// registrar.Device as JSON (an entry of the devices file). Each write is
// announced on <prefix>events:devices with the device's name, or with
// nothing when the whole list was replaced.
//
// Device, asked on every REGISTER, reads a copy in memory. Run keeps it
// fresh: the whole list at start, after every reconnection and every
// Resync, and each announced device as it comes.
type Devices struct {
	client  redis.UniversalClient
	key     string
	channel string
	mirrorState

	mu sync.RWMutex
	m  map[string]*registrar.Device

	// OnLoad, if set, is told how many devices each whole read found
	// (an empty list refuses every REGISTER: a Redis that lost its data
	// says so here).
	OnLoad func(devices int)
	// OnError, if set, is told when reading from Redis starts to fail
	// (with the error) and when it works again (with nil), once each.
	OnError func(error)
	// Resync is how often the whole list is read again without an
	// announcement; DefaultResync when 0.
	Resync time.Duration
}

var _ registrar.Devices = (*Devices)(nil)

// NewDevices uses client with keys under prefix, DefaultPrefix when
// empty. Call Run (or at least Load) before serving.
func NewDevices(client redis.UniversalClient, prefix string) *Devices {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Devices{client: client, key: prefix + "devices", channel: prefix + "events:devices"}
}

// Key is the hash holding the devices, <prefix>devices.
func (d *Devices) Key() string { return d.key }

// Device implements registrar.Devices, from the copy in memory; it
// returns ErrDevicesNotLoaded until the list was first read.
func (d *Devices) Device(_ context.Context, name string) (registrar.Device, bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.m == nil {
		return registrar.Device{}, false, ErrDevicesNotLoaded
	}
	p, ok := d.m[name]
	if !ok {
		return registrar.Device{}, false, nil
	}
	return *p, true, nil
}

// Len returns how many devices the copy in memory holds.
func (d *Devices) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.m)
}

// Put writes devices to Redis, adding them or replacing those of the same
// names, and announces each.
func (d *Devices) Put(ctx context.Context, devices ...registrar.Device) error {
	for start := 0; start < len(devices); start += deviceBatch {
		batch := devices[start:min(start+deviceBatch, len(devices))]
		fields, err := deviceFields(batch)
		if err != nil {
			return err
		}
		if _, err := d.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, d.key, fields...)
			for _, dev := range batch {
				p.Publish(ctx, d.channel, dev.Name)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("redisstore: devices: %w", err)
		}
		d.mu.Lock()
		if d.m != nil {
			for _, dev := range batch {
				d.m[dev.Name] = &dev
			}
		}
		d.mu.Unlock()
	}
	return nil
}

// Remove deletes the devices of these names from Redis and announces it;
// it returns how many there were.
func (d *Devices) Remove(ctx context.Context, names ...string) (int, error) {
	if len(names) == 0 {
		return 0, nil
	}
	var del *redis.IntCmd
	if _, err := d.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, d.key, names...)
		for _, n := range names {
			p.Publish(ctx, d.channel, n)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("redisstore: devices: %w", err)
	}
	d.mu.Lock()
	for _, n := range names {
		delete(d.m, n)
	}
	d.mu.Unlock()
	return int(del.Val()), nil
}

// Replace makes devices the whole list, at once (one transaction: a node
// reads the old list or the new, never a mix), and announces it.
func (d *Devices) Replace(ctx context.Context, devices []registrar.Device) error {
	seen := make(map[string]bool, len(devices))
	for i, dev := range devices {
		if seen[dev.Name] {
			return fmt.Errorf("redisstore: devices: device %q listed twice", dev.Name)
		}
		if dev.Name == "" {
			return fmt.Errorf("redisstore: devices: device %d has no name", i)
		}
		seen[dev.Name] = true
	}
	var batches [][]any
	for start := 0; start < len(devices); start += deviceBatch {
		fields, err := deviceFields(devices[start:min(start+deviceBatch, len(devices))])
		if err != nil {
			return err
		}
		batches = append(batches, fields)
	}
	if _, err := d.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, d.key)
		for _, fields := range batches {
			p.HSet(ctx, d.key, fields...)
		}
		p.Publish(ctx, d.channel, "")
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: devices: %w", err)
	}
	return d.Load(ctx)
}

// deviceFields are the HSET arguments of devices: name, JSON, ...
func deviceFields(devices []registrar.Device) ([]any, error) {
	fields := make([]any, 0, 2*len(devices))
	for _, dev := range devices {
		if dev.Name == "" {
			return nil, errors.New("redisstore: devices: a device has no name")
		}
		v, err := json.Marshal(dev)
		if err != nil {
			return nil, err
		}
		fields = append(fields, dev.Name, v)
	}
	return fields, nil
}

// Load reads the whole list from Redis into the copy in memory. A device
// that is not valid JSON, or whose name is not its field's, fails the
// load, and the copy stays as it was.
func (d *Devices) Load(ctx context.Context) error {
	n, err := d.client.HLen(ctx, d.key).Result()
	if err != nil {
		return fmt.Errorf("redisstore: devices: %w", err)
	}
	if n > maxDevices {
		return fmt.Errorf("redisstore: devices %s: %d devices, at most %d read", d.key, n, maxDevices)
	}
	m := make(map[string]*registrar.Device, n)
	var cursor uint64
	for {
		kv, next, err := d.client.HScan(ctx, d.key, cursor, "", deviceBatch).Result()
		if err != nil {
			return fmt.Errorf("redisstore: devices: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			dev, err := parseDevice(d.key, kv[i], kv[i+1])
			if err != nil {
				return err
			}
			m[dev.Name] = dev
		}
		if len(m) > maxDevices {
			return fmt.Errorf("redisstore: devices %s: more than %d devices", d.key, maxDevices)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	d.mu.Lock()
	d.m = m
	d.mu.Unlock()
	d.loaded.Store(true)
	if d.OnLoad != nil {
		d.OnLoad(len(m))
	}
	return nil
}

// parseDevice reads the device of field in key.
func parseDevice(key, field, v string) (*registrar.Device, error) {
	if len(v) > maxDevice {
		return nil, fmt.Errorf("redisstore: devices %s: device %q: %d bytes, at most %d", key, field, len(v), maxDevice)
	}
	var dev registrar.Device
	if err := json.Unmarshal([]byte(v), &dev); err != nil {
		return nil, fmt.Errorf("redisstore: devices %s: device %q: %w", key, field, err)
	}
	if dev.Name != field {
		return nil, fmt.Errorf("redisstore: devices %s: field %q holds the device %q", key, field, dev.Name)
	}
	return &dev, nil
}

// changed applies the announcement of one device's write, or reads the
// whole list again for a replacement.
func (d *Devices) changed(ctx context.Context, name string) error {
	if name == "" || !d.loaded.Load() {
		return d.Load(ctx)
	}
	v, err := d.client.HGet(ctx, d.key, name).Result()
	var dev *registrar.Device
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return fmt.Errorf("redisstore: devices: %w", err)
	default:
		if dev, err = parseDevice(d.key, name, v); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if dev == nil {
		delete(d.m, name)
	} else {
		d.m[name] = dev
	}
	return nil
}

// Run keeps the copy in memory fresh until ctx ends, when it returns
// ctx.Err(). A failure is reported (Err) and tried again.
func (d *Devices) Run(ctx context.Context) error {
	return d.follow(ctx, d.client, d.channel, d.Resync, d.Load, d.changed, d.OnError)
}
