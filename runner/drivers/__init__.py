"""Runner drivers: each applies a bundle of its target (`contract.bundles.Target`) behind the
`runner.driver.Driver` protocol the sync daemon drives."""
