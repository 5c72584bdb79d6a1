# The jq equivalent of bench/transform.ini.in, run as `jq -c -f transform.jq`.
# Same steps in the same order as the hlbridge route, so that the output is
# byte-identical: jq, like json-c, keeps the keys of an object in insertion
# order and appends new ones at the end.
#
#   map  set.email          -> .email appended
#   map  set.name template  -> .name appended
#   map  rename.locationId  -> locationId removed, .location appended
#   filter keep             -> score >= 50 and "vip" is an element of .tags
.email = .contact.email
| .name = "\(.contact.firstName) \(.contact.lastName)"
| if has("locationId") then .locationId as $v | del(.locationId) | .location = $v else . end
| select(.score >= 50 and (.tags | index("vip")) != null)
