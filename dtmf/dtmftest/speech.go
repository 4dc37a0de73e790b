package dtmftest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// corpusVersion names the cache files; bump it when the generator changes.
const corpusVersion = "v1"

// espeakVoices and fliteVoices are the synthetic talkers of the talk-off corpus.
var (
	espeakVoices = []string{"en-us", "en-gb", "en-gb-scotland", "en-029", "de", "fr", "es", "it", "pt", "nl",
		"pl", "sv", "hi", "ru", "cs", "tr", "fi", "el", "ja", "vi"}
	espeakVariants = []string{"", "+m1", "+m2", "+m3", "+m4", "+m7", "+f1", "+f2", "+f3", "+f4", "+croak", "+whisper"}
	fliteVoices    = []string{"kal", "kal16", "awb", "rms", "slt"}
)

var words = strings.Fields(`the a to of and in is it you that he was for on are with as I his they be at one
have this from or had by hot word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long make thing
see him two has look more day could go come did number sound no most people my over know water than call first
who may down side been now find any new work part take get place made live where after back little only round
man year came show every good me give our under name very through just form sentence great think say help low
line differ turn cause much mean before move right boy old too same tell does set three want air well also play
small end put home read hand port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother world near build self earth
father head stand own page should country found answer school grow study still learn plant cover food sun four
between state keep eye never last let thought city tree cross farm hard start might story saw far sea draw left
late run while press close night real life few north open seem together next white children begin got walk
example ease paper group always music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face
wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog family
direct pose leave song measure door product black short numeral class wind question happen complete ship area
half rock order fire south problem piece told knew pass since top whole king space heard best hour better true
during hundred five remember step early hold west ground interest reach fast verb sing listen six table travel
less morning ten simple several vowel toward war lay against pattern slow center love person money serve appear
road map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine
note wait plan figure star box noun field rest correct able pound done beauty drive stood contain front teach
week final gave green oh quick develop ocean warm free minute strong special mind behind clear tail produce fact
payment card account balance thank please enter press hash star zero seven eight nine pence dollars euros`)

// SpeechOptions configures the synthetic speech corpus.
type SpeechOptions struct {
	// CacheDir keeps generated chunks between runs (one 8 kHz s16 file per minute).
	CacheDir string
	// Minutes of speech to produce.
	Minutes int
	// Seed picks voices, speeds and text.
	Seed uint64
}

// Speech returns opt.Minutes of synthetic speech at 8 kHz (espeak-ng and flite talkers,
// many languages, speeds and pitches, levels from −25 to −5 dBm0), generating the chunks
// missing from the cache with the Debian tools espeak-ng, flite and sox.
func Speech(opt SpeechOptions) ([]int16, error) {
	for _, tool := range []string{"espeak-ng", "flite", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not installed: run make deps", tool)
		}
	}
	if err := os.MkdirAll(opt.CacheDir, 0o755); err != nil {
		return nil, err
	}
	// test binaries of several packages may build the corpus at once: one at a time
	lock, err := os.OpenFile(filepath.Join(opt.CacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	var out []int16
	for i := 0; i < opt.Minutes; i++ {
		path := filepath.Join(opt.CacheDir, fmt.Sprintf("speech-%s-%d-%d.s16", corpusVersion, opt.Seed, i))
		if _, err := os.Stat(path); err != nil {
			if err := makeChunk(path, opt.Seed, i); err != nil {
				return nil, err
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for j := 0; j+1 < len(b); j += 2 {
			out = append(out, int16(binary.LittleEndian.Uint16(b[j:])))
		}
	}
	return out, nil
}

// makeChunk synthesises about a minute of speech into path (8 kHz s16, level-normalised).
func makeChunk(path string, seed uint64, i int) error {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	tmp, err := os.MkdirTemp(filepath.Dir(path), "chunk")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var pcm []int16
	for part := 0; len(pcm) < 60*8000; part++ {
		var sb strings.Builder
		for w := 0; w < 40+r.IntN(40); w++ {
			if w > 0 {
				sb.WriteString(" ")
				if r.IntN(9) == 0 {
					sb.WriteString(". ")
				}
			}
			if r.IntN(6) == 0 {
				fmt.Fprintf(&sb, "%d", r.IntN(10000))
			} else {
				sb.WriteString(words[r.IntN(len(words))])
			}
		}
		wav := filepath.Join(tmp, fmt.Sprintf("p%d.wav", part))
		var cmd *exec.Cmd
		if r.IntN(4) == 0 {
			cmd = exec.Command("flite", "-voice", fliteVoices[r.IntN(len(fliteVoices))], "-t", sb.String(), "-o", wav)
		} else {
			v := espeakVoices[r.IntN(len(espeakVoices))] + espeakVariants[r.IntN(len(espeakVariants))]
			cmd = exec.Command("espeak-ng", "-v", v, "-s", fmt.Sprint(120+r.IntN(120)),
				"-p", fmt.Sprint(20+r.IntN(70)), "-w", wav, sb.String())
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v: %s", cmd.Args[0], err, out)
		}
		raw := filepath.Join(tmp, fmt.Sprintf("p%d.s16", part))
		if out, err := exec.Command("sox", wav, "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", raw).CombinedOutput(); err != nil {
			return fmt.Errorf("sox: %v: %s", err, out)
		}
		b, err := os.ReadFile(raw)
		if err != nil {
			return err
		}
		seg := make([]float64, len(b)/2)
		var e float64
		for j := range seg {
			seg[j] = float64(int16(binary.LittleEndian.Uint16(b[2*j:])))
			e += seg[j] * seg[j]
		}
		if len(seg) == 0 || e == 0 {
			continue
		}
		// scale so the segment's RMS is that of a sine at −25…−5 dBm0
		target := Peak(-25+20*r.Float64()) / math.Sqrt2
		g := target / math.Sqrt(e/float64(len(seg)))
		for j := range seg {
			seg[j] *= g
		}
		pcm = append(pcm, Quantize(seg)...)
	}
	b := make([]byte, 2*len(pcm))
	for j, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*j:], uint16(v))
	}
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// Music returns seconds of synthetic music at 8 kHz: random chords of one to four distinct
// equal-tempered notes (any interval, so pairs like F5+F#6 — within 0.2 % of a DTMF key —
// occur) with harmonics (plucked-string 1/h or organ 1/h² timbres), percussion noise, at
// −25…−5 dBm0.
func Music(seconds int, seed uint64) []int16 {
	pcm, _ := MusicNotes(seconds, seed)
	return pcm
}

// Note is one note of Music: its start sample, length, frequency and timbre.
type Note struct {
	At, Len int
	Freq    float64
	Organ   bool
}

// MusicNotes is Music with the list of notes it played (for diagnosing a false key).
func MusicNotes(seconds int, seed uint64) ([]int16, []Note) {
	var notes []Note
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([]float64, seconds*Rate)
	pos := 0
	for pos < len(out) {
		dur := int((0.1 + 0.5*r.Float64()) * Rate)
		nNotes := 1 + r.IntN(4)
		level := Peak(-25+20*r.Float64()) / float64(nNotes)
		organ := r.IntN(2) == 0
		used := map[int]bool{}
		for n := 0; n < nNotes; n++ {
			semis := r.IntN(48) - 12 // A3 … G#7 around A4
			if used[semis] {
				continue // one voice per pitch: a doubled pitch with phase-locked harmonics is not an instrument
			}
			used[semis] = true
			f := 440 * math.Pow(2, float64(semis)/12)
			notes = append(notes, Note{At: pos, Len: dur, Freq: f, Organ: organ})
			ph := r.Float64() * 2 * math.Pi
			for h := 1; h <= 6; h++ {
				fh := f * float64(h)
				if fh >= Rate/2 {
					break
				}
				a := level / float64(h)
				if organ {
					a = level / float64(h*h) * 2
				}
				for i := 0; i < dur && pos+i < len(out); i++ {
					env := math.Exp(-3 * float64(i) / float64(dur))
					if organ {
						env = math.Min(1, float64(i)/80) * math.Min(1, float64(dur-i)/80)
					}
					out[pos+i] += a * env * math.Sin(2*math.Pi*fh*float64(i)/Rate+ph*float64(h))
				}
			}
		}
		if r.IntN(3) == 0 { // a drum hit
			dl := Peak(-20+10*r.Float64()) / math.Sqrt2
			for i := 0; i < 400 && pos+i < len(out); i++ {
				out[pos+i] += dl * r.NormFloat64() * math.Exp(-float64(i)/80)
			}
		}
		pos += dur
	}
	return Quantize(out), notes
}

// TalkDown mixes n random keys (−10 dBm0 per tone, 50 ms on, 50–150 ms off, random
// alignment) with speech whose active power is rel dB relative to the keys' power, and
// returns the mix and the keys.
func TalkDown(speech []int16, rel float64, n int, seed uint64) ([]int16, string) {
	g := New(seed)
	var keys []float64
	want := ""
	for i := 0; i < n; i++ {
		k := Keys[g.R.IntN(16)]
		t := Std(k, 50, 50+100*g.R.Float64())
		keys, _ = g.Append(keys, t)
		want += string(k)
	}
	off := g.R.IntN(max(1, len(speech)-len(keys)))
	seg := speech[off:min(len(speech), off+len(keys))]
	// active speech power (as ITU-T P.56 means it, roughly): the mean square of the samples
	// above −50 dBm0 in the stretch of speech that is mixed in
	var e float64
	var m int
	floor := Peak(-50)
	for _, v := range seg {
		if math.Abs(float64(v)) > floor {
			e += float64(v) * float64(v)
			m++
		}
	}
	dtmfPower := 2 * Peak(-10) * Peak(-10) / 2
	gain := 0.0
	if m > 0 {
		gain = math.Sqrt(dtmfPower * math.Pow(10, rel/10) / (e / float64(m)))
	}
	for i := range seg {
		keys[i] += gain * float64(seg[i])
	}
	return Quantize(keys), want
}
