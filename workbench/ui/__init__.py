"""What a person looks at: the interactive dashboard, the offline HTML report, and the jobs the dashboard starts.

- `dashboard`: the Dash app (explore, compare, runs pages);
- `report`: one standalone offline HTML report for a run;
- `jobs`: train, analyze or sweep requests checked and started in worker processes.
"""
