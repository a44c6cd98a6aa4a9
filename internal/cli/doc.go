// Package cli implements the client verbs of the lbaas binary.
//
// The verbs mirror the neutron CLI (python-neutronclient 8.1.0) closely
// enough that scripts written for `neutron lb-pool-create ...` work with
// `lbaas` in its place: same positional arguments and flags, the same
// name-or-id resolution through list filters, and the same cliff-style
// output (two-column tables for create/show, column tables for lists,
// `-f json`, `-f value -c FIELD`). Two extension verb families,
// cert-* and si-*, talk to the lbaas-specific certificate and
// service-instance endpoints.
//
// A second family takes python-octaviaclient's command lines, `lbaas
// loadbalancer [listener|pool|member|healthmonitor|...] VERB`, on the
// Octavia v2 endpoint, with --wait; beside it, the few openstack
// `network`, `subnet` and `floating ip` commands an Octavia workflow
// needs. Both reuse the same fields, resources and output code. A third
// takes the openstack CLI's identity commands, `lbaas project|user|role
// ...`, on the Keystone v3 endpoint (--os-auth-url) of the built-in
// identity service.
package cli
