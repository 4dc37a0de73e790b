package tts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMarkup(t *testing.T) {
	got, err := ParseMarkup(`Your code is <say-as interpret-as="characters">ch_6dy</say-as>.` +
		`<break time="500ms"/> You paid <say-as interpret-as="currency" currency="GBP">12.50</say-as> on ` +
		`<say-as interpret-as="date" format="dmy">22/11/2026</say-as>, call <say-as interpret-as="telephone">0800 123</say-as>` +
		`<break strength="strong"></break><break/>Tom &amp; Jerry &lt;3`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Text: "Your code is "},
		{SayAs: SayCharacters, Text: "ch_6dy"},
		{Text: "."},
		{SayAs: SayBreak, Pause: 500 * time.Millisecond},
		{Text: " You paid "},
		{SayAs: SayCurrency, Text: "12.50", Currency: "GBP"},
		{Text: " on "},
		{SayAs: SayDate, Text: "22/11/2026", Format: "dmy"},
		{Text: ", call "},
		{SayAs: SayDigits, Text: "0800 123"},
		{SayAs: SayBreak, Pause: 750 * time.Millisecond},
		{SayAs: SayBreak, Pause: 500 * time.Millisecond},
		{Text: "Tom & Jerry <3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if segs, err := ParseMarkup(`<speak>Hello <break time="1.5s"/></speak>`); err != nil || len(segs) != 2 || segs[1].Pause != 1500*time.Millisecond {
		t.Fatalf("speak root: %+v %v", segs, err)
	}
	n, err := Request{Language: "en-GB", Segments: want}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := buildScript(n)
	if doc := sc.document(n.Language); !strings.Contains(doc, `<say-as interpret-as="characters">ch_6dy</say-as>.<break time="500ms"/>`) ||
		!strings.Contains(doc, "twelve pounds fifty on the twenty second of November twenty twenty six, call zero") || !strings.Contains(doc, `Tom &amp; Jerry &lt;3`) ||
		!strings.Contains(doc, `<break time="1250ms"/>`) {
		t.Fatalf("SSML document: %s", doc)
	}
}

func TestParseMarkupRefusals(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Hello <emphasis>you</emphasis>`, "offset 16: unknown element <emphasis>"},
		{`<say-as interpret-as="ordinal">3</say-as>`, `interpret-as "ordinal"`},
		{`<say-as interpret-as="digits"><break/></say-as>`, "<break> inside <say-as>"},
		{`<say-as interpret-as="digits"> </say-as>`, "empty <say-as>"},
		{`<say-as interpret-as="digits" lang="x">1</say-as>`, "unknown attribute lang"},
		{`<break time="fast"/>`, `break time "fast"`},
		{`<break time="11s"/>`, `break time "11s"`},
		{`<break strength="huge"/>`, `break strength "huge"`},
		{`<break>now</break>`, "text inside <break>"},
		{`Hello <say-as interpret-as="digits">1`, "<say-as> is not closed"},
		{`Hello </say-as>`, "offset 15: </say-as> closes nothing"},
		{`a < b`, "offset 3:"},
		{`<?xml version="1.0"?>hi`, "processing instructions"},
	} {
		_, err := ParseMarkup(tc.in)
		if !errors.Is(err, ErrMarkup) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseMarkup(f *testing.F) {
	f.Add(`Code <say-as interpret-as="characters">ch_6dy</say-as><break time="500ms"/>`)
	f.Add(`<say-as interpret-as="currency">GBP 12.50</say-as>`)
	f.Add(`<say-as interpret-as="date" format="dmy">1/2/2026</say-as>`)
	f.Add(`<speak>a &amp; b<break strength="x-strong"/></speak>`)
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParseMarkup(s)
		if err != nil {
			if !errors.Is(err, ErrMarkup) {
				t.Fatalf("error without ErrMarkup: %v", err)
			}
			return
		}
		for _, lang := range []string{"en-GB", "es-ES"} {
			n, err := Request{Language: lang, Segments: segs}.Normalize()
			if err != nil {
				continue
			}
			sc, err := buildScript(n)
			if err != nil {
				t.Fatalf("Normalize accepted what buildScript refuses: %v", err)
			}
			_ = sc.document(lang)
			_ = sc.text()
		}
	})
}
