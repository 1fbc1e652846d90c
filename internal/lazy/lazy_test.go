package lazy

import "testing"

func TestRegexp(t *testing.T) {
	re := Regexp(`^a+$`)
	first := re()
	if !first.MatchString("aaa") || first.MatchString("b") {
		t.Fatal("lazy regexp: wrong match")
	}
	if re() != first {
		t.Fatal("lazy regexp compiled twice")
	}
}
