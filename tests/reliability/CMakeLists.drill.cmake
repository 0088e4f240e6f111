# outage_drill_test (issue 14): Redis, PostgreSQL, the broker and SMTP taken away in turn during
# an incident, against the real executables. It starts, stops and removes a native stack of its
# own (infra/local/stack.sh in the build tree), so it needs neither the shared e2e stack fixture
# nor its lock. SRE_OUTAGE_SECONDS sets each outage's length (default 30, at most 150); the run
# takes about 3.5 minutes with 30 s outages, 5.5 with 60 s.
if(EXISTS ${reliability_dir}/outage_drill_test.cpp AND TARGET sre-simulator AND TARGET sre-api)
  sre_test(outage_drill_test SOURCES outage_drill_test.cpp DEPS sre_test_support sre_fake_llm
    LABELS e2e reliability TIMEOUT 900)
  set_tests_properties(outage_drill_test PROPERTIES FIXTURES_REQUIRED "")
  add_dependencies(outage_drill_test sre-detection sre-correlation sre-investigation sre-remediation
                   sre-communication sre-postmortem sre-simulator sre-knowledge sre-devbroker sre-api)
endif()
