"""Template tests for lit: a `<name>.test.tpl` file runs once per row of its matrix.

Each row becomes a test of its own, named `<name>.test.tpl::<row>`, with the row's values as
%{key} substitutions. One file states the test, and the matrix says what it is instantiated for.
A directory opts in from its lit.local.cfg:

    import lit_templates
    config.test_format = lit_templates.TemplateShTest(matrices, config.test_format.execute_external)

where `matrices` maps a template file name to a list of (row name, {key: value}) (data, not
functions: the format is pickled with each test).
Lives in a module of its own, not in lit.local.cfg: lit pickles tests for its worker processes.
"""
import os

import lit.Test
import lit.TestRunner
import lit.formats


class TemplateInstance(lit.Test.Test):
    def __init__(self, suite, path_in_suite, config, template, params):
        super().__init__(suite, path_in_suite, config, file_path=template)
        self.template = template
        self.params = params

    def getSourcePath(self):
        return self.template


class TemplateShTest(lit.formats.ShTest):
    def __init__(self, matrices, execute_external=False):
        super().__init__(execute_external)
        self.matrices = matrices

    def getTestsInDirectory(self, testSuite, path_in_suite, litConfig, localConfig):
        yield from super().getTestsInDirectory(testSuite, path_in_suite, litConfig, localConfig)
        source_dir = testSuite.getSourcePath(path_in_suite)
        for name in sorted(os.listdir(source_dir)):
            if name in self.matrices:
                template = os.path.join(source_dir, name)
                for row, params in self.matrices[name]:
                    yield TemplateInstance(testSuite, path_in_suite + (name, row), localConfig, template, params)

    def execute(self, test, litConfig):
        if isinstance(test, TemplateInstance):
            subst = [("%{" + k + "}", v) for k, v in test.params.items()]
            return lit.TestRunner.executeShTest(test, litConfig, self.execute_external, extra_substitutions=subst)
        return super().execute(test, litConfig)
