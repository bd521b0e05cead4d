#!/bin/bash
# Syncs now and then until stopped.
while true; do
  echo "sync $*"
  sleep 60
done
