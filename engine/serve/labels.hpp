#pragma once
// Label values for the service's metrics and access log. A label's values must stay few:
// nothing a caller sends (a path, an id, a header) becomes one as it is. Each function maps
// what it is given onto a fixed set, with "other" for the rest.
#include <string>
#include <string_view>

#include "common/json.hpp"

namespace spokeflow::serve {

// The route a request path names, as the API documents it ("/api/v1/flows/{name}"); "other"
// for a path that names none (unknown, or not a plain path). Never the path as sent.
std::string route_template(std::string_view path);
// A request method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS; "other" for anything else.
std::string_view method_label(std::string_view method);
// The type of an execution's trigger: api, rerun, okta_event, schedule or cli; "other" else.
std::string_view trigger_label(const Json& trigger);
// An answer's HTTP status as "100".."599"; "none" for no answer (0), "other" out of range.
std::string status_label(int status);

}  // namespace spokeflow::serve
