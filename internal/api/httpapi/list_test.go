package httpapi

import (
	"fmt"
	"net/url"
	"testing"
)

func items(n int) []Item {
	var out []Item
	for i := 0; i < n; i++ {
		out = append(out, Item{View: map[string]any{"id": fmt.Sprintf("00000000-0000-0000-0000-%012d", i), "name": fmt.Sprintf("n%d", i%3), "port": 100 - i, "up": i%2 == 0}})
	}
	return out
}

func TestOctaviaSortParameterOrdersByEachKeyThenById(t *testing.T) {
	q, _ := url.ParseQuery("sort=name:desc,port:asc")
	lq, err := ParseListQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	page, links, err := lq.Page(items(6), "/x", q)
	if err != nil || len(links) != 0 {
		t.Fatal(err, links)
	}
	var got []string
	for _, p := range page {
		got = append(got, fmt.Sprint(p["name"], " ", p["port"]))
	}
	want := "[n2 95 n2 98 n1 96 n1 99 n0 97 n0 100]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPagesWalkForwardAndBackWithLinks(t *testing.T) {
	all := items(5)
	q, _ := url.ParseQuery("limit=2&fields=id")
	lq, _ := ParseListQuery(q)
	page, links, err := lq.Page(all, "/x", q)
	if err != nil || len(page) != 2 || len(links) != 1 || links[0].Rel != "next" {
		t.Fatal(page, links, err)
	}
	if len(page[0]) != 1 {
		t.Fatalf("fields not projected: %v", page[0])
	}
	next, _ := url.Parse(links[0].Href)
	lq2, _ := ParseListQuery(next.Query())
	page2, links2, _ := lq2.Page(all, "/x", next.Query())
	if page2[0]["id"] != all[2].View["id"] || len(links2) != 2 {
		t.Fatal(page2, links2)
	}
	prev, _ := url.Parse(links2[1].Href)
	lq3, _ := ParseListQuery(prev.Query())
	page3, _, _ := lq3.Page(all, "/x", prev.Query())
	if len(page3) != 2 || page3[0]["id"] != all[0].View["id"] || page3[1]["id"] != all[1].View["id"] {
		t.Fatal(page3)
	}
}

func TestFiltersOnBooleansIgnoreCaseAndBadParametersAre400(t *testing.T) {
	q, _ := url.ParseQuery("up=true")
	lq, _ := ParseListQuery(q)
	page, _, _ := lq.Page(items(4), "/x", q)
	if len(page) != 2 {
		t.Fatal(page)
	}
	for _, bad := range []string{"limit=-1", "marker=x", "sort_dir=up&sort_key=name", "sort=:asc", "page_reverse=maybe"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseListQuery(q); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
