# mutation_e2e_test: sre-mutate's mutated copies of valid messages on every input topic while an
# ERROR_RATE_SPIKE runs through the whole pipeline (SRE_MUTATIONS, default 20000). It starts and
# removes a native stack of its own, so it needs neither the shared e2e stack nor its lock.
if(TARGET sre-simulator AND TARGET sre-api AND TARGET sre-mutate)
  sre_test(mutation_e2e_test SOURCES mutation_e2e_test.cpp
    DEPS sre_test_support mutate_core api_core LABELS e2e reliability TIMEOUT 600)
  set_tests_properties(mutation_e2e_test PROPERTIES FIXTURES_REQUIRED "")
  add_dependencies(mutation_e2e_test sre-detection sre-correlation sre-investigation
                   sre-remediation sre-communication sre-postmortem sre-simulator sre-knowledge
                   sre-devbroker sre-api sre-mutate)
endif()
