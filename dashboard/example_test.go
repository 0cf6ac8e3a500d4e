package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/dashboard"
)

// The dashboard mounted under /admin/breakers/, next to the application's
// own routes, with the admin endpoint open to requests that carry the
// right token. A script reads the snapshot and forces a breaker open.
func Example() {
	sup := breaker.NewSupervisor()
	defer sup.Close()
	sup.GetOrCreate("payments", breaker.DefaultConfig())

	dash := dashboard.New(sup, dashboard.WithControl(func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer s3cret" // your authentication here
	}))
	defer dash.Close()
	mux := http.NewServeMux()
	mux.Handle("/admin/breakers/", http.StripPrefix("/admin/breakers", dash))
	srv := httptest.NewServer(mux) // or http.ListenAndServe("127.0.0.1:8080", mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/admin/breakers/api/snapshot")
	if err != nil {
		panic(err)
	}
	var snap dashboard.Snapshot
	json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	for _, b := range snap.Breakers {
		fmt.Println(b.Name, b.State)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/breakers/api/breakers/payments/force-open", nil)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	fmt.Println("without the token:", resp.StatusCode)
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/admin/breakers/api/breakers/payments/force-open", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	b, _ := sup.Get("payments")
	fmt.Println("with it:", resp.StatusCode, b.State())
	// Output:
	// payments closed
	// without the token: 403
	// with it: 200 forced-open
}
