package settings

import "testing"

func TestCheckCron(t *testing.T) {
	t.Parallel()
	valid := []string{"* * * * *", "0 0 * * *", "*/5 * * * *", "0 9-17/2 * * 1-5", "0,30 * 1,15 1-12 0", "@hourly", " @daily "}
	invalid := []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7",
		"*/0 * * * *", "5/2 * * * *", "10-5 * * * *", "a * * * *", "-1 * * * *", "+1 * * * *", "@every", "1- * * * *"}
	for _, e := range valid {
		if err := checkCron(e); err != nil {
			t.Errorf("checkCron(%q) = %v, want nil", e, err)
		}
	}
	for _, e := range invalid {
		if err := checkCron(e); err == nil {
			t.Errorf("checkCron(%q) = nil, want an error", e)
		}
	}
}
