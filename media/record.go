package media

import (
	"bufio"
	"encoding/binary"
	"os"

	"github.com/paybridge/paybridge/dtmf"
)

// Record starts writing the far end's audio, after masker, to a new WAV file at path (8 kHz
// mono 16-bit; created with mode 0600, never overwriting a file). No key tone survives the
// masker, and while the secure window is on (SetSecure) only its fill is written. A nil masker
// is dtmf's with its defaults. Recording when already recording does nothing.
func (m *Session) Record(path string, masker Masker) error {
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if m.rec != nil {
		return nil
	}
	w, err := createWAV(path)
	if err != nil {
		return err
	}
	if masker == nil {
		masker = dtmf.NewMasker(dtmf.MaskerConfig{})
	}
	masker.SetSecure(m.secure)
	m.masker, m.rec = masker, w
	return nil
}

// StopRecording closes the recording, if any, and reports the error of writing its end.
func (m *Session) StopRecording() error {
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if m.rec == nil {
		return nil
	}
	err := m.rec.Close()
	m.rec = nil
	return err
}

// record writes the far end's audio through the masker (call with dtmfMu held).
func (m *Session) record(pcm []int16) {
	if m.masker != nil {
		pcm = m.masker.Process(pcm)
	}
	m.rec.Write(pcm)
}

// wavWriter streams 8 kHz mono 16-bit PCM into a WAV file and fixes the header sizes on
// Close. Recordings only ever receive masked audio (see Session.record).
type wavWriter struct {
	f   *os.File
	w   *bufio.Writer
	n   int64 // data bytes
	buf []byte

	channels int // 1 or 2
}

func createWAV(path string) (*wavWriter, error) { return createWAVChannels(path, 1) }

// createWAVChannels starts a WAV file of 1 (mono) or 2 (stereo, samples interleaved)
// channels.
func createWAVChannels(path string, channels int) (*wavWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	w := &wavWriter{f: f, w: bufio.NewWriterSize(f, 16<<10), channels: channels}
	w.w.Write(wavHeader(0, channels))
	return w, nil
}

func wavHeader(dataLen uint32, channels int) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)                      // PCM
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))       // mono or stereo
	binary.LittleEndian.PutUint32(h[24:], 8000)                   // sample rate
	binary.LittleEndian.PutUint32(h[28:], uint32(16000*channels)) // byte rate
	binary.LittleEndian.PutUint16(h[32:], uint16(2*channels))     // block align
	binary.LittleEndian.PutUint16(h[34:], 16)                     // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// Write appends samples.
func (w *wavWriter) Write(pcm []int16) {
	if cap(w.buf) < 2*len(pcm) {
		w.buf = make([]byte, 2*len(pcm))
	}
	b := w.buf[:2*len(pcm)]
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	w.w.Write(b)
	w.n += int64(len(b))
}

// Close flushes the data and writes the final sizes into the header.
func (w *wavWriter) Close() error {
	if err := w.w.Flush(); err != nil {
		w.f.Close()
		return err
	}
	if _, err := w.f.WriteAt(wavHeader(uint32(w.n), max(w.channels, 1)), 0); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}
