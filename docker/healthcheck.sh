#!/bin/bash
# healthcheck - the image's HEALTHCHECK: GET /api/v1/health through bash's /dev/tcp, because the slim
# image has no curl or wget and memscoped itself should not grow a client mode for this.
# Exit 0 on "HTTP/1.x 200", 1 otherwise.  MEMSCOPE_HEALTH_PORT if memscoped listens elsewhere.
port=${MEMSCOPE_HEALTH_PORT:-8080}
exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || exit 1
printf 'GET /api/v1/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 || exit 1
IFS= read -r -t 3 status <&3 || exit 1
case $status in
"HTTP/1."?" 200 "*) exit 0 ;;
esac
exit 1
