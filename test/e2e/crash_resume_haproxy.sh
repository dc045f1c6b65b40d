# crash_resume_haproxy.sh - crash_resume.sh on the HAProxy mesh: kill -9
# conformd three times while the sidecars carry the traffic, resume each time,
# and the client totals equal the report's exactly (http.basic, tap.live).
set -u
CRASH_MESH=haproxy exec bash "$(dirname "$0")/crash_resume.sh"
