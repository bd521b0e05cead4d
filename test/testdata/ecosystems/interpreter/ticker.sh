#!/bin/sh
# Prints a line every few seconds until stopped.
while true; do
  echo "tick ${1:-x}"
  sleep 5
done
