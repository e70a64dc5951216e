#!/usr/bin/env bash
# WADO-RS whole-instance retrieve, req/s with wrk (one 512x512 16-bit CT instance, ~520 KB).
# Usage: bench/wado_instance_bench.sh [PYTHONPATH-src] [seconds] [connections]
# Starts `hounsfield serve` (embedded, one worker) on a temp data dir on 127.0.0.1:18931.
set -euo pipefail
SRC=${1:-$PWD/src}; SECONDS_=${2:-10}; CONNS=${3:-8}
PY=${PYTHON:-/work/main/.venv/bin/python}
WORK=$(mktemp -d); PORT=18931; BASE=http://127.0.0.1:$PORT
export PYTHONPATH=$SRC HOUNSFIELD_DATA_DIR=$WORK/data HOUNSFIELD_DICOM__ENABLED=false \
  HOUNSFIELD_LOG_LEVEL=WARNING HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE=0
unset HOUNSFIELD_DATABASE_URL HOUNSFIELD_REDIS_URL
$PY -m hounsfield.cli migrate >/dev/null 2>&1 || true
$PY -m hounsfield.cli user create --username bench --role admin --password 'Quartz-river-2931x' >/dev/null
$PY -m hounsfield.cli serve --host 127.0.0.1 --port $PORT >$WORK/server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf $WORK' EXIT
for _ in $(seq 300); do curl -s -o /dev/null $BASE/healthz && break; sleep 0.2; done
TOKEN=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"bench","password":"Quartz-river-2931x"}' $BASE/api/auth/login | $PY -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
$PY - "$WORK/ct.dcm" <<'PYEOF'
import sys, numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
ds = Dataset(); ds.file_meta = FileMetaDataset()
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.PatientID, ds.PatientName, ds.Modality = "BENCH", "Bench^Wado", "CT"
ds.Rows = ds.Columns = 512; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated = 16; ds.BitsStored = 12; ds.HighBit = 11; ds.PixelRepresentation = 0
ds.PixelData = np.random.default_rng(0).integers(0, 4096, (512, 512), dtype=np.uint16).tobytes()
ds.save_as(sys.argv[1], enforce_file_format=True)
print(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, file=open(sys.argv[1] + ".uids", "w"))
PYEOF
read STUDY SERIES SOP < $WORK/ct.dcm.uids
B=$($PY -c 'import uuid; print(uuid.uuid4().hex)')
{ printf -- "--$B\r\nContent-Type: application/dicom\r\n\r\n"; cat $WORK/ct.dcm; printf -- "\r\n--$B--\r\n"; } > $WORK/body
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Accept: application/dicom+json" \
  -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$B" --data-binary @$WORK/body $BASE/dicom-web/studies
URL=$BASE/dicom-web/studies/$STUDY/series/$SERIES/instances/$SOP
tree() { local p; for p in "$@"; do echo $p; tree $(pgrep -P $p); done; }
cpu_ticks() {  # user+system clock ticks of the server and all its processes
  local t=0 p; for p in $(tree $SERVER); do
    [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
for ACCEPT in 'multipart/related; type="application/dicom"' 'application/dicom'; do
  curl -sf -o $WORK/out -H "Authorization: Bearer $TOKEN" -H "Accept: $ACCEPT" $URL
  echo "== Accept: $ACCEPT ($(stat -c %s $WORK/out) bytes), load $(cut -d' ' -f1 /proc/loadavg)"
  if [ -n "${PROFILE:-}" ]; then  # PROFILE=dir: py-spy collapsed stacks of the server
    "$(dirname "$PY")/py-spy" record -r 200 -d $((SECONDS_ - 1)) -p $SERVER -f raw -o "$PROFILE/${ACCEPT%%;*}.txt" \
      --subprocesses >"$PROFILE/pyspy.log" 2>&1 & fi
  BEFORE=$(cpu_ticks)
  wrk -t1 -c$CONNS -d${SECONDS_}s -H "Authorization: Bearer $TOKEN" -H "Accept: $ACCEPT" \
    -H 'Accept-Encoding: identity' $URL > $WORK/wrk.txt
  TICKS=$(( $(cpu_ticks) - BEFORE ))
  grep -E "Requests/sec|Latency|Non-2xx" $WORK/wrk.txt
  REQS=$(awk '/requests in/ {print $1}' $WORK/wrk.txt)
  echo "server CPU per request: $(awk -v t=$TICKS -v r=$REQS -v hz=$(getconf CLK_TCK) \
    'BEGIN {printf "%.2f ms", 1000 * t / hz / r}') ($REQS requests)"
  if [ -n "${PROFILE:-}" ]; then wait $!; fi
done
