package phone_test

import (
	"fmt"

	"github.com/phonecheck/phonecheck/checker/phone"
)

func ExampleNormalize() {
	for _, raw := range []string{
		"(415) 555-0132",
		"tel:+61-491-570-006;ext=12",
		"'201001234567", // spreadsheet apostrophe; country code without plus
		"+1 415 555",
	} {
		n, err := phone.Normalize(raw, "US")
		if err != nil {
			fmt.Println(phone.ReasonOf(err))
			continue
		}
		fmt.Println(n.E164, n.Region)
	}
	// Output:
	// +14155550132 US
	// +61491570006 AU
	// +201001234567 EG
	// too short
}

func ExampleRedact() {
	fmt.Println(phone.Redact("+14155550132"))
	fmt.Println(phone.Redact("0491 570 006"))
	// Output:
	// +1…32
	// …06
}
