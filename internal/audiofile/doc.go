// Package audiofile reads and writes the audio and capture files paybridge's tools work on.
//
//   - WAV: 8 kHz mono PCM16, μ-law or A-law (plain or WAVE_FORMAT_EXTENSIBLE); other rates
//     and channel counts are refused with ErrUnsupported rather than silently misread.
//   - ConvertWAV: any common WAV (integer PCM of 8–32 bits, float, μ-law, A-law; any rate from
//     1 to 384 kHz; up to 16 channels) made 8 kHz mono 16-bit PCM, with WAVSource saying what
//     it was. Resample is its band-limited rational resampler (fixed point, so bit-identical
//     on every platform), also used by the tts package for espeak-ng's 22 050 Hz output.
//   - Raw: headerless G.711 bytes (.ul/.ulaw, .al/.alaw) and little-endian 16-bit (.s16/.raw).
//   - pcap (libpcap classic format, either byte order, µs or ns timestamps) over Ethernet,
//     Linux cooked (v1, v2), raw IP and BSD loopback links, IPv4 and IPv6, UDP: ReadPcap
//     returns the RTP packets (version 2, payloads copied) and the SIP INFO requests with their
//     capture time and addresses. PcapWriter writes RTP/UDP/IPv4 or IPv6 over Ethernet with
//     correct checksums — the files SIPp's play_pcap_audio sends.
//
// All decoded audio is []int16 at 8 kHz. Every reader takes untrusted input: a bad file is an
// error wrapping one of the package's sentinels, never a panic, and the readers bound what
// they allocate.
package audiofile
