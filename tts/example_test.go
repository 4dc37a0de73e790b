package tts_test

import (
	"context"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/tts"
)

func ExampleParseMarkup() {
	segs, err := tts.ParseMarkup(`Your code is <say-as interpret-as="characters">ch_6dy</say-as>.<break time="500ms"/>`)
	if err != nil {
		panic(err)
	}
	for _, s := range segs {
		fmt.Printf("%q %q %v\n", s.SayAs, s.Text, s.Pause)
	}
	// Output:
	// "" "Your code is " 0s
	// "characters" "ch_6dy" 0s
	// "" "." 0s
	// "break" "" 500ms
}

// A consumer that speaks takes a Renderer; a test hands it a RenderFunc.
func ExampleRenderFunc() {
	silence := tts.RenderFunc(func(ctx context.Context, req tts.Request) (*tts.Audio, error) {
		if _, err := req.Normalize(); err != nil {
			return nil, err
		}
		return &tts.Audio{Samples: make([]int16, tts.SampleRate/2)}, nil
	})
	var speech tts.Renderer = silence
	a, err := speech.Render(context.Background(), tts.Request{Language: "en-GB", Segments: []tts.Segment{
		{Text: "Your balance is"}, {SayAs: tts.SayCurrency, Text: "GBP 12.50"}, {SayAs: tts.SayBreak, Pause: 300 * time.Millisecond}}})
	fmt.Println(a.Duration(), err)
	_, err = speech.Render(context.Background(), tts.Request{Segments: []tts.Segment{{SayAs: tts.SayCurrency, Text: "JPY 100"}}})
	fmt.Println(err)
	// Output:
	// 500ms <nil>
	// segment 1 (currency "JPY 100"): tts: bad say-as value: currency "JPY" cannot be spoken in English (GBP, USD, EUR)
}
