"""Long work as jobs (issue 17): siting plans, schedules, the yearly report and full scoring.

A job is a row in `jobs` (sql/025_jobs.sql) owned by whoever asked; procrastinate's queue
(schema `procrastinate`) wakes a worker (`hardening worker`), which runs the job as that user:
read in one short transaction, solve with no connection held, write in another, recording
progress between steps. See docs/capacity.md.
"""
