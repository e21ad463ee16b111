import sys

from trainers.common.cli import main
from trainers.prm import PRMConfig, train
from trainers.prm.train import __doc__ as DOC

if __name__ == "__main__":
    main("python -m trainers.prm", PRMConfig, train, DOC, sys.argv[1:])
