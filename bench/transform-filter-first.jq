# jq's fastest correct form of bench/transform.jq: the same output, but the
# select runs first, so jq skips the three map steps for dropped records.
# bench/transform --jq-filter-first times this one instead (the hlbridge route
# still maps first), to compare against jq at its best.
select(.score >= 50 and (.tags | index("vip")) != null)
| .email = .contact.email
| .name = "\(.contact.firstName) \(.contact.lastName)"
| if has("locationId") then .locationId as $v | del(.locationId) | .location = $v else . end
